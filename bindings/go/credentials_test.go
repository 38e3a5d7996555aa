package registry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// basicClient is a client of the htpasswd registry with config.json off.
func basicClient(t *testing.T, opts ...Option) (*Client, error) {
	t.Helper()
	base := []Option{WithCAFile(env(t, "BASIC_CA")), WithDockerConfig("")}
	c, err := NewClient(env(t, "BASIC_ADDR"), append(base, opts...)...)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func mustTags(t *testing.T, c *Client, what string) {
	t.Helper()
	tags, err := c.Tags(app)
	if err != nil || !reflect.DeepEqual(tags, []string{"v1", "v2"}) {
		t.Fatalf("%s: %v %v", what, tags, err)
	}
}

func TestEnvCredentials(t *testing.T) {
	addr := env(t, "BASIC_ADDR")
	user, pass := env(t, "BASIC_USER"), env(t, "BASIC_PASS")
	port, _ := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	t.Setenv("GOTEST_REGISTRY_HOSTNAME_0", fmt.Sprintf("127.0.0.*:%d", port))
	t.Setenv("GOTEST_REGISTRY_USERNAME_0", user)
	t.Setenv("GOTEST_REGISTRY_PASSWORD_0", pass)
	c, err := basicClient(t, WithEnvCredentials("GOTEST_REGISTRY"))
	if err != nil {
		t.Fatal(err)
	}
	mustTags(t, c, "env credentials")
	// Not asked for: not read.
	c, _ = basicClient(t)
	if _, err := c.Tags(app); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("without the option: %v", err)
	}
	// A glob for another port sends nothing.
	t.Setenv("GOTEST_REGISTRY_HOSTNAME_0", fmt.Sprintf("127.0.0.*:%d", port+1))
	c, _ = basicClient(t, WithEnvCredentials("GOTEST_REGISTRY"))
	if _, err := c.Tags(app); !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), pass) {
		t.Fatalf("another port: %v", err)
	}
	// "" is the prefix REGISTRY; WithBasicAuth beats the environment.
	t.Setenv("REGISTRY_HOSTNAME", addr)
	t.Setenv("REGISTRY_USERNAME", user)
	t.Setenv("REGISTRY_PASSWORD", "wrong-pw")
	c, _ = basicClient(t, WithEnvCredentials(""))
	if _, err := c.Tags(app); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("REGISTRY_ with a wrong password: %v", err)
	}
	c, _ = basicClient(t, WithEnvCredentials(""), WithBasicAuth(user, pass))
	mustTags(t, c, "explicit credentials win")
	t.Setenv("REGISTRY_PASSWORD", pass)
	c, _ = basicClient(t, WithEnvCredentials(""))
	mustTags(t, c, "REGISTRY_ prefix")
	// Malformed prefixes and HOSTNAMEs.
	if _, err := basicClient(t, WithEnvCredentials("BAD-PREFIX")); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad prefix: %v", err)
	}
	t.Setenv("GOTEST_REGISTRY_HOSTNAME_0", "user@host")
	t.Setenv("GOTEST_REGISTRY_PASSWORD_0", "s3cret-go")
	_, err = basicClient(t, WithEnvCredentials("GOTEST_REGISTRY"))
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "GOTEST_REGISTRY_HOSTNAME_0") ||
		strings.Contains(err.Error(), "s3cret-go") {
		t.Fatalf("malformed HOSTNAME: %v", err)
	}
}

func TestAuthKey(t *testing.T) {
	addr := env(t, "BASIC_ADDR")
	path := filepath.Join(t.TempDir(), "config.json")
	doc := fmt.Sprintf(`{"auths":{"https://build.example/v1/":{"username":%q,"password":%q},%q:{"username":"nobody","password":"x"}}}`,
		env(t, "BASIC_USER"), env(t, "BASIC_PASS"), addr)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := basicClient(t, WithDockerConfig(path))
	if _, err := c.Tags(app); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("the host's entry: %v", err)
	}
	c, err := basicClient(t, WithDockerConfig(path), WithAuthKey("https://build.example/v1/"))
	if err != nil {
		t.Fatal(err)
	}
	mustTags(t, c, "auth key")
	if _, err := basicClient(t, WithAuthKey("")); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("empty key: %v", err)
	}
}

func TestRestrict(t *testing.T) {
	c, err := basicClient(t, WithBasicAuth(env(t, "BASIC_USER"), env(t, "BASIC_PASS")))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Restrict(app)
	if err != nil {
		t.Fatal(err)
	}
	mustTags(t, r, "restricted, own repository")
	if _, err := r.Tags("fixtures/oci"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("another repository: %v", err)
	}
	if _, err := r.Search("fixtures", 5); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("search: %v", err)
	}
	if _, err := r.Restrict("fixtures/oci"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("restrict elsewhere: %v", err)
	}
	if _, err := c.Restrict("Bad Name"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad name: %v", err)
	}
	// The parent closes first; the restricted client goes on.
	c.Close()
	mustTags(t, r, "after the parent's Close")
	r.Close()
	if _, err := r.Tags(app); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("after Close: %v", err)
	}
}
