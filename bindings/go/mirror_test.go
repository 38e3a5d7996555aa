package registry

import (
	"context"
	"errors"
	"net"
	"testing"
)

// downAddress is a loopback address where nothing listens.
func downAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestMirrorServesReadsWhileTheRegistryIsDown(t *testing.T) {
	mirror := env(t, "ANON_ADDR")
	c, err := NewClient(downAddress(t), WithMirror("http://"+mirror), WithDockerConfig(""))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tags, err := c.Tags(app)
	if err != nil || len(tags) == 0 {
		t.Fatalf("tags through the mirror: %v %v", tags, err)
	}
	digest, err := c.Pull(context.Background(), "fixtures/multi", "latest", t.TempDir())
	if err != nil || digest != env(t, "INDEX_DIGEST") {
		t.Fatalf("pull through the mirror: %q %v", digest, err)
	}
	if err := c.SetTag(app, "v1", "from-go"); !errors.Is(err, ErrNetwork) {
		t.Fatalf("a write went elsewhere than the registry: %v", err)
	}
}

func TestMirrorURLIsChecked(t *testing.T) {
	for _, bad := range []string{"ftp://m", "http://m/path", "http://u:p@m"} {
		if _, err := NewClient("127.0.0.1:1", WithMirror(bad)); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
