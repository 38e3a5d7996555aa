package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestWriteFlows(t *testing.T) {
	for _, mode := range []string{"anon", "basic", "token", "tls"} {
		mode := mode
		t.Run(mode, func(t *testing.T) {
			c := clientFor(t, mode)
			repo := fmt.Sprintf("go/uploads-%d", os.Getpid())
			data := make([]byte, 400_000)
			rand.New(rand.NewSource(7)).Read(data)
			d, err := c.PutLayer(repo, bytes.NewReader(data), "")
			if err != nil || d != digestOf(data) {
				t.Fatalf("put: %s %v", d, err)
			}
			r, err := c.OpenLayer(repo, d)
			if err != nil {
				t.Fatal(err)
			}
			back, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("read back: %d bytes, %v", len(back), err)
			}
			if again, err := c.PutLayer(repo, failingReader{errors.New("never read")}, d); err != nil || again != d {
				t.Fatalf("existing blob: %s %v", again, err)
			}
			path := filepath.Join(t.TempDir(), "blob")
			os.WriteFile(path, data[:777], 0o600)
			if fd, err := c.PutLayerFile(repo, path, ""); err != nil || fd != digestOf(data[:777]) {
				t.Fatalf("put file: %s %v", fd, err)
			}
			wrong := "sha256:" + strings.Repeat("1", 64)
			if _, err := c.PutLayer(repo, strings.NewReader("other"), wrong); !errors.Is(err, ErrDigestMismatch) {
				t.Fatalf("mismatch: %v", err)
			}
			if ok, _ := c.LayerExists(repo, wrong); ok {
				t.Fatal("committed under the expected digest")
			}
			boom := errors.New("disk on fire")
			_, err = c.PutLayer(repo, io.MultiReader(strings.NewReader("some bytes"), failingReader{boom}), "")
			if !errors.Is(err, ErrAborted) || !errors.Is(err, boom) {
				t.Fatalf("aborted upload: %v", err)
			}

			tagsRepo := fmt.Sprintf("go/tags-%d", os.Getpid())
			for _, blob := range []string{env(t, "LAYER_DIGEST"), env(t, "IMAGE_ID")} {
				if ok, err := c.MountBlob(tagsRepo, blob, "fixtures/app"); err != nil || !ok {
					t.Fatalf("mount %s: %v %v", blob, ok, err)
				}
			}
			m, err := c.Manifest("fixtures/app", "v1")
			if err != nil {
				t.Fatal(err)
			}
			if pd, err := c.PutManifest(tagsRepo, "v1", m.MediaType, m.Body); err != nil || pd != m.Digest {
				t.Fatalf("put manifest: %s %v", pd, err)
			}
			if err := c.SetTag(tagsRepo, "v1", "v2"); err != nil {
				t.Fatal(err)
			}
			if err := c.SetTag(tagsRepo, m.Digest, "v3"); err != nil {
				t.Fatal(err)
			}
			if err := c.DeleteTag(tagsRepo, "v2"); err != nil {
				t.Fatal(err)
			}
			if tags, err := c.Tags(tagsRepo); err != nil || fmt.Sprint(tags) != "[v1 v3]" {
				t.Fatalf("tags: %v %v", tags, err)
			}
			if err := c.DeleteTag(tagsRepo, "v2"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("missing tag: %v", err)
			}
			if err := c.DeleteManifest(tagsRepo, m.Digest); err != nil {
				t.Fatal(err)
			}
			if tags, err := c.Tags(tagsRepo); err != nil || len(tags) != 0 {
				t.Fatalf("after delete: %v %v", tags, err)
			}
		})
	}
}

func TestTokensAndScopes(t *testing.T) {
	c := clientFor(t, "token")
	for _, a := range []Access{AccessRead, AccessWrite, AccessDelete} {
		for _, get := range []func(string, Access) (string, error){c.Token, c.HubToken} {
			tok, err := get("fixtures/app", a)
			if err != nil || strings.Count(tok, ".") != 2 {
				t.Fatalf("token %d: %v", a, err)
			}
		}
	}
	if _, err := c.Token("fixtures/app", Access(9)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("access 9: %v", err)
	}
	if _, err := clientFor(t, "basic").HubToken("fixtures/app", AccessRead); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("basic registry: %v", err)
	}
	ro := clientFor(t, "token", WithBasicAuth(modeVar("token", "RO_USER"), modeVar("token", "RO_PASS")))
	if _, err := ro.PutLayer("go/denied", strings.NewReader("x"), ""); !errors.Is(err, ErrForbidden) {
		t.Fatalf("pull-only push: %v", err)
	}
	if err := ro.DeleteTag("fixtures/app", "v1"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("pull-only delete: %v", err)
	}
}

// dataThenError hands out all its data together with err in one Read, then
// io.EOF, as an io.Reader may: "Callers should always process the n > 0 bytes
// returned before considering the error err."
type dataThenError struct {
	data []byte
	err  error
	done bool
}

func (r *dataThenError) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	r.done = true
	return copy(p, r.data), r.err
}

func TestReaderErrorWithDataAbortsTheUpload(t *testing.T) {
	c := clientFor(t, "anon")
	repo := fmt.Sprintf("go/truncated-%d", os.Getpid())
	data := []byte(fmt.Sprintf("the first part of a layer whose reader failed, %d", os.Getpid()))
	boom := errors.New("connection reset while reading the layer")
	d, err := c.PutLayer(repo, &dataThenError{data: data, err: boom}, "")
	if !errors.Is(err, ErrAborted) || !errors.Is(err, boom) {
		t.Errorf("upload of a failed reader: digest %q, err %v", d, err)
	}
	if ok, err := c.LayerExists(repo, digestOf(data)); err != nil || ok {
		t.Fatalf("the truncated bytes were committed: exists %v, err %v", ok, err)
	}
}

type panickingReader struct{}

func (panickingReader) Read([]byte) (int, error) { panic("reader exploded") }

func TestReaderPanicComesBackFromPutLayer(t *testing.T) {
	c := clientFor(t, "anon")
	repo := fmt.Sprintf("go/panic-%d", os.Getpid())
	first := []byte(fmt.Sprintf("bytes before the panic, %d", os.Getpid()))
	func() {
		defer func() {
			if p := recover(); p != "reader exploded" {
				t.Errorf("recovered %v, want the reader's panic", p)
			}
		}()
		d, err := c.PutLayer(repo, io.MultiReader(bytes.NewReader(first), panickingReader{}), "")
		t.Errorf("PutLayer returned %q, %v instead of panicking", d, err)
	}()
	if ok, err := c.LayerExists(repo, digestOf(first)); err != nil || ok {
		t.Fatalf("after the panic: exists %v, err %v", ok, err)
	}
	after := []byte("uploaded after the panic")
	if d, err := c.PutLayer(repo, bytes.NewReader(after), ""); err != nil || d != digestOf(after) {
		t.Fatalf("upload after the panic: %q %v", d, err)
	}
}

// With an upload state directory a layer goes up in recorded chunks (9 MiB:
// two), and nothing stays recorded once it is committed; "" turns it off.
func TestUploadStateDir(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	c := clientFor(t, "anon", WithUploadStateDir(state))
	repo := fmt.Sprintf("go/resume-%d", os.Getpid())
	data := make([]byte, 9<<20+5)
	rand.New(rand.NewSource(7)).Read(data)
	path := filepath.Join(dir, "layer")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	want := digestOf(data)
	if d, err := c.PutLayerFile(repo, path, want); err != nil || d != want {
		t.Fatalf("PutLayerFile: %v %v", d, err)
	}
	if ok, err := c.LayerExists(repo, want); err != nil || !ok {
		t.Fatalf("LayerExists: %v %v", ok, err)
	}
	left, err := os.ReadDir(state)
	if err != nil || len(left) != 0 {
		t.Fatalf("the state directory holds %v (%v)", left, err)
	}
	off := clientFor(t, "anon", WithUploadStateDir(""))
	other := bytes.Repeat([]byte("x"), 1000)
	if d, err := off.PutLayer(repo, bytes.NewReader(other), digestOf(other)); err != nil || d != digestOf(other) {
		t.Fatalf("PutLayer without state: %v %v", d, err)
	}
}
