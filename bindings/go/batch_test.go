package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var (
	missing1 = "sha256:" + strings.Repeat("1", 64)
	missing2 = "sha256:" + strings.Repeat("2", 64)
)

// logRequests is the request lines ("METHOD /path") of mode's access log
// sent with User-Agent ua, those answered 401 (a token registry's
// challenge) aside.
func logRequests(t *testing.T, mode, ua string) []string {
	t.Helper()
	data, err := os.ReadFile(modeVar(mode, "LOG"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasSuffix(line, `"`+ua+`"`) || strings.Contains(line, `" 401 `) {
			continue
		}
		if parts := strings.Split(line, `"`); len(parts) > 1 {
			req := parts[1]
			if i := strings.LastIndex(req, " "); i > 0 {
				req = req[:i]
			}
			out = append(out, req)
		}
	}
	return out
}

func TestPingInfoV1TagsImageIDForCatalog(t *testing.T) {
	anon := clientFor(t, "anon")
	info, err := anon.PingInfo()
	if err != nil || info.API != APIV2 || info.APIVersionHeader != "registry/2.0" || info.Standalone != nil {
		t.Fatalf("v2 ping info %+v, %v", info, err)
	}
	v1 := clientFor(t, "v1")
	info, err = v1.PingInfo()
	if err != nil || info.API != APIV1 || info.Standalone == nil || *info.Standalone {
		t.Fatalf("v1 ping info %+v, %v", info, err)
	}
	tags, err := v1.V1Tags("fixtures/v1app")
	want := map[string]string{"latest": env(t, "V1_IMAGE_ID"), "base": env(t, "V1_PARENT_ID")}
	if err != nil || !reflect.DeepEqual(tags, want) {
		t.Fatalf("V1Tags = %v, %v; want %v", tags, err, want)
	}
	if _, err := anon.V1Tags(app); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("V1Tags on v2: %v", err)
	}
	id, err := anon.ImageIDFor("fixtures/multi", "latest", "linux/arm64")
	if err != nil || id != env(t, "ARM64_IMAGE_ID") {
		t.Fatalf("ImageIDFor arm64 = %q, %v", id, err)
	}
	if _, err := anon.ImageIDFor("fixtures/multi", "latest", "linux/s390x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no such platform: %v", err)
	}
	if _, err := anon.ImageIDFor("fixtures/multi", "latest", "linux"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad platform: %v", err)
	}
	repos, err := anon.Catalog()
	found := false
	for _, r := range repos {
		found = found || r == "fixtures/multi"
	}
	if err != nil || !found {
		t.Fatalf("Catalog = %v, %v", repos, err)
	}
}

func TestCAPEMAndIdentityToken(t *testing.T) {
	pem, err := os.ReadFile(modeVar("tls", "CA"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(env(t, "TLS_ADDR"), WithCAPEM(pem))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if api, err := c.Ping(); err != nil || api != APIV2 {
		t.Fatalf("ping trusting the CA from memory: %v, %v", api, err)
	}
	if _, err := NewClient(env(t, "TLS_ADDR"), WithCAPEM([]byte("not a pem"))); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("a PEM without a certificate: %v", err)
	}

	tok, err := NewClient(env(t, "TOKEN_ADDR"), WithCAFile(modeVar("token", "CA")),
		WithIdentityToken(env(t, "TOKEN_REFRESH")))
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	if tags, err := tok.Tags(app); err != nil || !reflect.DeepEqual(tags, []string{"v1", "v2"}) {
		t.Fatalf("tags with an identity token: %v, %v", tags, err)
	}
	wrong, err := NewClient(env(t, "TOKEN_ADDR"), WithCAFile(modeVar("token", "CA")),
		WithIdentityToken("wrong-r3fresh"))
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	_, err = wrong.Tags(app)
	if !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), "wrong-r3fresh") {
		t.Fatalf("a wrong refresh token: %v", err)
	}
}

func TestFirstImageExistsSendsHeadsOnly(t *testing.T) {
	ua := fmt.Sprintf("go-first-image-%d", os.Getpid())
	info, err := clientFor(t, "anon").ManifestHead(app, "v1")
	if err != nil {
		t.Fatal(err)
	}
	c := clientFor(t, "anon", WithUserAgent(ua))
	index := env(t, "INDEX_DIGEST")
	got, err := c.FirstImageExists(app, []string{missing1, missing2, info.Digest, index})
	if err != nil || got != info.Digest {
		t.Fatalf("FirstImageExists = %q, %v", got, err)
	}
	var manifests []string
	for _, r := range logRequests(t, "anon", ua) {
		if strings.Contains(r, "/manifests/") {
			manifests = append(manifests, r)
		}
	}
	var want []string
	for _, d := range []string{missing1, missing2, info.Digest} {
		want = append(want, "HEAD /v2/"+app+"/manifests/"+d)
	}
	if !reflect.DeepEqual(manifests, want) {
		t.Fatalf("requests %v, want %v", manifests, want)
	}
	if _, err := c.FirstImageExists(app, []string{missing1, index}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("none exists: %v", err)
	}
	if _, err := c.FirstImageExists(app, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no digests: %v", err)
	}
	if _, err := c.FirstImageExists(app, []string{"sha256:nothex"}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("a malformed digest: %v", err)
	}
}

func TestPushAllPushesEveryNamedImage(t *testing.T) {
	ua := fmt.Sprintf("go-push-all-%d", os.Getpid())
	anon := clientFor(t, "anon")
	token := clientFor(t, "token", WithUserAgent(ua))
	ctx := context.Background()
	dir := t.TempDir()
	appDigest, err := anon.Pull(ctx, app, "v1", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Pull(ctx, "fixtures/multi", "latest", dir); err != nil {
		t.Fatal(err)
	}
	layer := env(t, "LAYER_DIGEST")
	starts := 0
	pushed, err := token.PushAll(ctx, dir, "go/all", WithProgress(func(d string, done, _ uint64) {
		if d == layer && done == 0 {
			starts++
		}
	}))
	want := []PushedImage{{"v1", appDigest}, {"latest", env(t, "INDEX_DIGEST")}}
	if err != nil || !reflect.DeepEqual(pushed, want) {
		t.Fatalf("PushAll = %v, %v; want %v", pushed, err, want)
	}
	if starts != 1 {
		t.Fatalf("the shared layer started %d times", starts)
	}
	heads := 0
	for _, r := range logRequests(t, "token", ua) {
		if r == "HEAD /v2/go/all/blobs/"+layer {
			heads++
		}
	}
	if heads != 1 {
		t.Fatalf("the shared layer was asked for %d times", heads)
	}
	if d := skopeoRegistryDigest(t, "token", "go/all:v1"); d != appDigest {
		t.Fatalf("skopeo reads %s, want %s", d, appDigest)
	}
	if _, err := token.PushAll(ctx, dir, "go/all", WithPlatform("linux/amd64")); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("PushAll takes no platform: %v", err)
	}

	// An unnamed entry is refused before anything is sent.
	path := filepath.Join(dir, "index.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var index map[string]any
	if err := json.Unmarshal(raw, &index); err != nil {
		t.Fatal(err)
	}
	delete(index["manifests"].([]any)[1].(map[string]any), "annotations")
	raw, _ = json.Marshal(index)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = token.PushAll(ctx, dir, "go/unnamed")
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "entry 1") {
		t.Fatalf("an unnamed entry: %v", err)
	}
	for _, r := range logRequests(t, "token", ua) {
		if strings.Contains(r, "go/unnamed") {
			t.Fatalf("sent %s for a refused layout", r)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := token.PushAll(cancelled, dir, "go/x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled context: %v", err)
	}
}
