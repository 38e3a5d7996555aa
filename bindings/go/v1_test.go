package registry

// The v1 flows through the Go wrapper, against the fixture v1 server in both
// of its modes: "v1" (an index handing out tokens for a registry on another
// port) and "v1sa" (standalone, basic auth).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const v1app = "fixtures/v1app"

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestV1(t *testing.T) {
	for _, mode := range []string{"v1", "v1sa"} {
		mode := mode
		t.Run(mode, func(t *testing.T) {
			t.Run("read", func(t *testing.T) { v1Read(t, mode) })
			t.Run("tokens", func(t *testing.T) { v1Tokens(t, mode) })
			t.Run("push", func(t *testing.T) { v1Push(t, mode) })
			t.Run("repositories", func(t *testing.T) { v1Repositories(t, mode) })
		})
	}
}

func v1Read(t *testing.T, mode string) {
	c := clientFor(t, mode)
	id, parent := env(t, "V1_IMAGE_ID"), env(t, "V1_PARENT_ID")
	if api, err := c.Ping(); err != nil || api != APIV1 {
		t.Fatalf("Ping = %v, %v; want APIV1", api, err)
	}
	if tags, err := c.Tags(v1app); err != nil || !reflect.DeepEqual(tags, []string{"base", "latest"}) {
		t.Fatalf("Tags = %v, %v", tags, err)
	}
	if got, err := c.ImageID(v1app, "latest"); err != nil || got != id {
		t.Fatalf("ImageID = %q, %v; want %q", got, err, id)
	}
	if got, err := c.ImageID("busybox", "latest"); err != nil || got != parent {
		t.Fatalf("ImageID(busybox) = %q, %v; want library/busybox's %q", got, err, parent)
	}
	if got, err := c.V1Ancestry(id); err != nil || !reflect.DeepEqual(got, []string{id, parent}) {
		t.Fatalf("V1Ancestry = %v, %v", got, err)
	}
	if got, err := c.V1RepoAncestry(v1app, id); err != nil || !reflect.DeepEqual(got, []string{id, parent}) {
		t.Fatalf("V1RepoAncestry = %v, %v", got, err)
	}
	if raw, err := c.V1RepoImageJSON(v1app, id); err != nil || !bytes.Contains(raw, []byte(id)) {
		t.Fatalf("V1RepoImageJSON = %s, %v", raw, err)
	}
	raw, err := c.V1ImageJSON(id)
	var doc struct{ ID, Parent string }
	if err != nil || json.Unmarshal(raw, &doc) != nil || doc.ID != id || doc.Parent != parent {
		t.Fatalf("V1ImageJSON = %s, %v", raw, err)
	}
	if ok, err := c.LayerExists(v1app, id); err != nil || !ok {
		t.Fatalf("LayerExists = %v, %v", ok, err)
	}
	rc, err := c.OpenLayer(v1app, id)
	if err != nil {
		t.Fatal(err)
	}
	layer, err := io.ReadAll(rc)
	verified := rc.Verified()
	rc.Close()
	if !verified {
		t.Fatal("the image checksum was not reported as checked")
	}
	if err != nil || sha256Hex(layer) != env(t, "V1_LAYER_SHA256") {
		t.Fatalf("OpenLayer read %d bytes, %v", len(layer), err)
	}
	path := filepath.Join(t.TempDir(), "layer")
	if err := c.LayerToFile(v1app, id, path); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || fmt.Sprint(st.Size()) != env(t, "V1_LAYER_SIZE") {
		t.Fatalf("LayerToFile wrote %v, %v", st, err)
	}
	found, err := c.Search("v1app", 0)
	if err != nil || len(found.Results) != 1 || found.Results[0].Name != v1app {
		t.Fatalf("Search = %+v, %v", found, err)
	}
	if _, err := c.ImageID(v1app, "nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "Tag not found") {
		t.Fatalf("missing tag: %v", err)
	}
	if _, err := c.Manifest(v1app, "latest"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Manifest on v1: %v", err)
	}
}

func v1Tokens(t *testing.T, mode string) {
	c := clientFor(t, mode)
	for access, word := range map[Access]string{AccessRead: "read", AccessWrite: "write", AccessDelete: "delete"} {
		tok, err := c.HubToken(v1app, access)
		if err != nil || !strings.HasPrefix(tok, "signature=") || !strings.Contains(tok, "access="+word) {
			t.Fatalf("HubToken(%s) = %q, %v", word, tok, err)
		}
	}
	bad, err := NewClient(env(t, strings.ToUpper(mode)+"_ADDR"), WithBasicAuth("alice", "wrong-password"))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	_, err = bad.HubToken(v1app, AccessWrite)
	if !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("wrong password: %v", err)
	}
}

func v1Push(t *testing.T, mode string) {
	c := clientFor(t, mode)
	parent := env(t, "V1_PARENT_ID")
	repo := fmt.Sprintf("go/v1-%d", os.Getpid())
	id := sha256Hex([]byte(fmt.Sprintf("go-%s-%d", mode, os.Getpid())))
	doc := fmt.Sprintf(`{"id":%q,"parent":%q}`, id, parent)
	layer := bytes.Repeat([]byte("go v1 layer "), 5000)
	if err := c.V1RepoImageJSONPut(repo, id, doc); err != nil {
		t.Fatal(err)
	}
	sum, err := c.PutLayer(repo, bytes.NewReader(layer), id)
	if want := "sha256:" + sha256Hex(append([]byte(doc+"\n"), layer...)); err != nil || sum != want {
		t.Fatalf("PutLayer = %q, %v; want %q", sum, err, want)
	}
	if err := c.SetTag(repo, id, "v1"); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ImageID(repo, "v1"); err != nil || got != id {
		t.Fatalf("ImageID = %q, %v", got, err)
	}
	if err := c.DeleteTag(repo, "v1"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTag(repo, "v1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteTag: %v", err)
	}
	if err := c.SetTag(repo, strings.Repeat("0", 64), "v2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("tagging an unknown image: %v", err)
	}

	// A reader that fails mid-way: no checksum goes out, the image stays incomplete.
	id2 := sha256Hex([]byte(fmt.Sprintf("go-abort-%s-%d", mode, os.Getpid())))
	if err := c.V1ImageJSONPut(id2, fmt.Sprintf(`{"id":%q,"parent":%q}`, id2, parent)); err != nil {
		t.Fatal(err)
	}
	failing := io.MultiReader(bytes.NewReader(layer[:1000]), failingReader{errors.New("disk went away")})
	if _, err := c.PutLayer(repo, failing, id2); !errors.Is(err, ErrAborted) {
		t.Fatalf("aborted PutLayer: %v", err)
	}
	if err := c.SetTag(repo, id2, "v2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("tagging an incomplete image: %v", err)
	}
	if _, err := c.PutLayer(repo, bytes.NewReader(layer), ""); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("PutLayer without an image id: %v", err)
	}
}

func TestV1OnlyCallsOnV2(t *testing.T) {
	c := clientFor(t, "anon")
	id := env(t, "V1_IMAGE_ID")
	if _, err := c.V1Ancestry(id); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("V1Ancestry on v2: %v", err)
	}
	if _, err := c.V1ImageJSON(id); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("V1ImageJSON on v2: %v", err)
	}
	if err := c.V1ImageJSONPut(id, "{}"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("V1ImageJSONPut on v2: %v", err)
	}
}

func v1Repositories(t *testing.T, mode string) {
	c := clientFor(t, mode)
	id, parent := env(t, "V1_IMAGE_ID"), env(t, "V1_PARENT_ID")
	list, err := c.V1RepositoryImages(v1app)
	if err != nil || len(list) != 2 {
		t.Fatalf("V1RepositoryImages = %+v, %v", list, err)
	}
	for _, e := range list {
		if e.ID == id && e.Checksum != env(t, "V1_CHECKSUM") || e.ID != id && e.ID != parent {
			t.Fatalf("image list entry %+v", e)
		}
	}
	if _, err := c.V1RepositoryImages("go/no-such-repo"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing repository: %v", err)
	}

	repo := fmt.Sprintf("go/repo-%s-%d", mode, os.Getpid())
	img := sha256Hex([]byte(fmt.Sprintf("go-repo-%s-%d", mode, os.Getpid())))
	doc := fmt.Sprintf(`{"id":%q,"parent":%q}`, img, parent)
	if err := c.V1RepositoryPut(repo, []V1Image{{ID: img}}); err != nil {
		t.Fatal(err)
	}
	if err := c.V1RepoImageJSONPut(repo, img, doc); err != nil {
		t.Fatal(err)
	}
	sum, err := c.PutLayer(repo, bytes.NewReader(bytes.Repeat([]byte("go repo "), 900)), img)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetTag(repo, img, "v1"); err != nil {
		t.Fatal(err)
	}
	err = c.V1RepoImageJSONPut(repo, img, doc)
	var re *Error
	if !errors.Is(err, ErrAlreadyExists) || !errors.As(err, &re) || re.HTTPStatus != 409 {
		t.Fatalf("the image again: %v", err)
	}
	if err := c.V1RepositoryImagesPut(repo, []V1Image{{ID: img, Checksum: sum}, {ID: parent}}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.V1RepositoryImages(repo); err != nil || !reflect.DeepEqual(got, []V1Image{{ID: img, Checksum: sum}}) {
		t.Fatalf("image list after the push = %+v, %v", got, err)
	}
	if err := c.V1RepositoryImagesPut(repo, []V1Image{{ID: "abc"}}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad id: %v", err)
	}
	if err := c.V1RepositoryDelete(repo); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Tags(repo); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted repository: %v", err)
	}
	if err := c.V1RepositoryDelete(repo); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}

	page, err := c.SearchPage("busybox", 1, 0)
	if err != nil || page.NumResults != 1 || page.NumPages != 1 || page.PageSize != 25 || page.Page != 1 ||
		!page.Results[0].IsOfficial || page.Results[0].IsTrusted || page.Results[0].StarCount != 15 {
		t.Fatalf("SearchPage = %+v, %v", page, err)
	}
	if _, err := c.SearchPage("", 0, 10); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("page 0: %v", err)
	}
	v2 := clientFor(t, "anon")
	if _, err := v2.V1RepositoryImages("fixtures/app"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("v1 call on v2: %v", err)
	}
	if err := v2.V1RepositoryDelete("fixtures/app"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("v1 delete on v2: %v", err)
	}
}
