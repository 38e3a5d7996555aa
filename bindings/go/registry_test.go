package registry

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const app = "fixtures/app"

var missingBlob = "sha256:" + strings.Repeat("0", 64)

func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv("REGISTRY_TEST_" + name)
	if v == "" {
		t.Fatalf("REGISTRY_TEST_%s is not set: run under ffi-tests/fixtures/registry.py run", name)
	}
	return v
}

func modeVar(mode, suffix string) string {
	return os.Getenv("REGISTRY_TEST_" + strings.ToUpper(mode) + "_" + suffix)
}

func clientFor(t *testing.T, mode string, extra ...Option) *Client {
	t.Helper()
	opts := []Option{WithUserAgent("registry-go-tests")}
	if ca := modeVar(mode, "CA"); ca != "" {
		opts = append(opts, WithCAFile(ca))
	}
	if u := modeVar(mode, "USER"); u != "" {
		opts = append(opts, WithBasicAuth(u, modeVar(mode, "PASS")))
	}
	c, err := NewClient(env(t, strings.ToUpper(mode)+"_ADDR"), append(opts, extra...)...)
	if err != nil {
		t.Fatalf("NewClient(%s): %v", mode, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestStatic(t *testing.T) {
	if Version() == "" || StatusName(StatusNotFound) != "NOT_FOUND" || StatusName(99) != "UNKNOWN" {
		t.Fatal("version or status names")
	}
	// Every code of the status table: its constant, name and sentinel.
	sentinels := []*Error{nil, ErrNullArgument, ErrInvalidArgument, ErrNetwork, ErrTimeout, ErrTLS,
		ErrUnauthorized, ErrForbidden, ErrNotFound, ErrUnsupported, ErrRateLimited, ErrDigestMismatch,
		ErrProtocol, ErrServer, ErrIO, ErrAborted, ErrTooLarge, ErrPanic, ErrAlreadyExists}
	for code := StatusOK; code <= StatusAlreadyExists; code++ {
		if name := StatusName(code); name == "UNKNOWN" || name == "" {
			t.Fatalf("status %d has no name", code)
		}
		if code > StatusOK && (sentinels[code].Status != code || !errors.Is(&Error{Status: code, Message: "x"}, sentinels[code])) {
			t.Fatalf("status %d: sentinel %v", code, sentinels[code])
		}
	}
	if StatusName(StatusAlreadyExists+1) != "UNKNOWN" || StatusName(StatusOK) != "OK" ||
		StatusName(StatusAlreadyExists) != "ALREADY_EXISTS" {
		t.Fatal("the table ends at ALREADY_EXISTS")
	}
	if _, err := NewClient("localhost:1", WithUnauthorizedIsNotFound(true)); err != nil {
		t.Fatalf("WithUnauthorizedIsNotFound: %v", err)
	}
	if _, err := NewClient("ftp://x"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("ftp address: %v", err)
	}
	if _, err := NewClient("localhost:1", WithAPI(API(9))); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("api 9: %v", err)
	}
	if _, err := NewClient("localhost:1", WithCAFile("/nonexistent/ca.pem")); !errors.Is(err, ErrIO) {
		t.Fatalf("missing CA: %v", err)
	}
	if _, err := NewClient("local\x00host"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("NUL in address: %v", err)
	}
	c, err := NewClient("localhost:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Tags("Bad/Name"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad name: %v", err)
	}
	if _, err := c.Tags("a\xff"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad utf-8: %v", err)
	}
	c.Close()
	if _, err := c.Tags("a"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("closed client: %v", err)
	}
}

func TestReadFlows(t *testing.T) {
	for _, mode := range []string{"anon", "basic", "token", "tls"} {
		mode := mode
		t.Run(mode, func(t *testing.T) {
			c := clientFor(t, mode)
			if api, err := c.Ping(); err != nil || api != APIV2 {
				t.Fatalf("ping: %v %v", api, err)
			}
			tags, err := c.Tags(app)
			if err != nil || fmt.Sprint(tags) != "[v1 v2]" {
				t.Fatalf("tags: %v %v", tags, err)
			}
			for _, ref := range [][2]string{{app, "v1"}, {"fixtures/oci", "v1"}, {"fixtures/multi", "latest"}} {
				id, err := c.ImageID(ref[0], ref[1])
				if err != nil || id != env(t, "IMAGE_ID") {
					t.Fatalf("image id %v: %q %v", ref, id, err)
				}
			}
			layer := env(t, "LAYER_DIGEST")
			size, _ := strconv.Atoi(env(t, "LAYER_SIZE"))
			if ok, err := c.LayerExists(app, layer); err != nil || !ok {
				t.Fatalf("layer exists: %v %v", ok, err)
			}
			if ok, err := c.LayerExists(app, missingBlob); err != nil || ok {
				t.Fatalf("missing layer: %v %v", ok, err)
			}
			r, err := c.OpenLayer(app, layer)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(r)
			verified := r.Verified()
			r.Close()
			if !verified {
				t.Fatal("the layer's digest was not reported as checked")
			}
			sum := sha256.Sum256(body)
			if err != nil || len(body) != size || "sha256:"+hex.EncodeToString(sum[:]) != layer {
				t.Fatalf("layer read: %d bytes, %v", len(body), err)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "layer.tar.gz")
			if err := c.LayerToFile(app, layer, path); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(path); len(got) != size {
				t.Fatalf("file has %d bytes", len(got))
			}
			missing := filepath.Join(dir, "missing")
			err = c.LayerToFile(app, missingBlob, missing)
			var re *Error
			if !errors.Is(err, ErrNotFound) || !errors.As(err, &re) || re.HTTPStatus != 404 {
				t.Fatalf("missing blob: %v", err)
			}
			if _, err := os.Stat(missing); !os.IsNotExist(err) {
				t.Fatal("a failed download left a file")
			}
			m, err := c.Manifest("fixtures/oci", "v1")
			msum := sha256.Sum256(m.Body)
			if err != nil || m.MediaType != "application/vnd.oci.image.manifest.v1+json" ||
				m.Digest != "sha256:"+hex.EncodeToString(msum[:]) {
				t.Fatalf("manifest: %+v %v", m, err)
			}
			found, err := c.Search("fixtures/multi", 5)
			if err != nil || found.NumResults != 1 || found.Results[0].Name != "fixtures/multi" {
				t.Fatalf("search: %+v %v", found, err)
			}
			page, err := c.SearchPage("FIXTURES/MULTI", 1, 1)
			if err != nil || page.NumResults != 1 || page.NumPages != 1 || page.PageSize != 1 || page.Page != 1 ||
				len(page.Results) != 1 || page.Results[0].Name != "fixtures/multi" {
				t.Fatalf("search page: %+v %v", page, err)
			}
			if past, err := c.SearchPage("FIXTURES/MULTI", 2, 1); err != nil || len(past.Results) != 0 || past.Page != 2 {
				t.Fatalf("page past the last: %+v %v", past, err)
			}
			_, err = c.Tags("fixtures/missing")
			if !errors.Is(err, ErrNotFound) || !errors.As(err, &re) || re.Code != "NAME_UNKNOWN" {
				t.Fatalf("missing repo: %v", err)
			}
		})
	}
}

func TestWrongPassword(t *testing.T) {
	for _, mode := range []string{"basic", "token"} {
		c := clientFor(t, mode, WithBasicAuth(modeVar(mode, "USER"), "wrong-pa55word"))
		_, err := c.Tags(app)
		if !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), "wrong-pa55word") {
			t.Fatalf("%s: %v", mode, err)
		}
	}
}

func TestPullOnlyUser(t *testing.T) {
	c := clientFor(t, "token", WithBasicAuth(modeVar("token", "RO_USER"), modeVar("token", "RO_PASS")))
	if _, err := c.Tags(app); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Search("app", 0); !errors.Is(err, ErrForbidden) {
		t.Fatalf("catalog: %v", err)
	}
}

func TestTLSWithoutCA(t *testing.T) {
	c, err := NewClient(env(t, "TLS_ADDR"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Ping(); !errors.Is(err, ErrTLS) {
		t.Fatalf("ping: %v", err)
	}
}

func TestDockerConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte("alice:" + env(t, "BASIC_PASS")))
	os.WriteFile(path, []byte(`{"auths":{"`+env(t, "BASIC_ADDR")+`":{"auth":"`+auth+`"}}}`), 0o600)
	c, err := NewClient(env(t, "BASIC_ADDR"), WithDockerConfig(path), WithCAFile(env(t, "BASIC_CA")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Tags(app); err != nil {
		t.Fatal(err)
	}
}

func TestDockerConfigEmptyPathTurnsTheLookupOff(t *testing.T) {
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("alice:" + env(t, "BASIC_PASS")))
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{"`+env(t, "BASIC_ADDR")+`":{"auth":"`+auth+`"}}}`), 0o600)
	t.Setenv("DOCKER_CONFIG", dir)
	tags := func(opts ...Option) error {
		c, err := NewClient(env(t, "BASIC_ADDR"), append(opts, WithCAFile(env(t, "BASIC_CA")))...)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Tags(app)
		return err
	}
	if err := tags(); err != nil {
		t.Fatalf("without WithDockerConfig, $DOCKER_CONFIG/config.json: %v", err)
	}
	if err := tags(WithDockerConfig("")); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf(`WithDockerConfig(""): want ErrUnauthorized, got %v`, err)
	}
	if err := tags(WithDockerConfig("a\x00b")); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("NUL in the path: %v", err)
	}
}

func TestOneClientManyGoroutines(t *testing.T) {
	c := clientFor(t, "token")
	want := env(t, "IMAGE_ID")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tag := []string{"v1", "v2"}[i%2]
			id, err := c.ImageID(app, tag)
			if err == nil && id != want {
				err = fmt.Errorf("id %s", id)
			}
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestMutualTLSFromCertsDir(t *testing.T) {
	c, err := NewClient(env(t, "MTLS_ADDR"), WithCertsDir(env(t, "MTLS_CERTS_DIR")), WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if tags, err := c.Tags(app); err != nil || fmt.Sprint(tags) != "[v1 v2]" {
		t.Fatalf("tags: %v %v", tags, err)
	}
	plain := clientFor(t, "mtls")
	if _, err := plain.Ping(); !errors.Is(err, ErrTLS) {
		t.Fatalf("without a client certificate: %v", err)
	}
}

func TestCredentialHelperFromTheAddressAlone(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\ncat >/dev/null\necho '{\"ServerURL\":\"x\",\"Username\":\"alice\",\"Secret\":\"" +
		env(t, "BASIC_PASS") + "\"}'\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-gotest"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"credsStore":"gotest"}`), 0o600)
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	t.Setenv("DOCKER_CONFIG", dir)
	for _, mode := range []string{"BASIC", "TOKEN"} {
		c, err := NewClient(env(t, mode+"_ADDR"), WithCertsDir(env(t, mode+"_CERTS_DIR")))
		if err != nil {
			t.Fatal(err)
		}
		tags, err := c.Tags(app)
		c.Close()
		if err != nil || fmt.Sprint(tags) != "[v1 v2]" {
			t.Fatalf("%s: %v %v", mode, tags, err)
		}
	}
}

func TestProxy(t *testing.T) {
	c, err := NewClient(env(t, "ANON_ADDR"), WithProxy(env(t, "PROXY_URL")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if tags, err := c.Tags(app); err != nil || fmt.Sprint(tags) != "[v1 v2]" {
		t.Fatalf("via proxy: %v %v", tags, err)
	}
	dead, err := NewClient(env(t, "ANON_ADDR"), WithProxy("http://127.0.0.1:1"), WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	if _, err := dead.Tags(app); !errors.Is(err, ErrNetwork) {
		t.Fatalf("dead proxy: %v", err)
	}
}
