package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tarEntry is one entry of a tar, as GNU tar extracts it.
func tarEntry(t *testing.T, path, name string) []byte {
	t.Helper()
	out, err := exec.Command("tar", "-xOf", path, name).Output()
	if err != nil {
		t.Fatalf("%s in %s: %v", name, path, err)
	}
	return out
}

func runSkopeo(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("skopeo", append([]string{"--insecure-policy"}, args...)...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("skopeo %v: %v %s", args, err, msg)
	}
	return out
}

type dockerEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func TestPullArchiveDockerAndOCI(t *testing.T) {
	ctx := context.Background()
	c := clientFor(t, "token")
	dir := t.TempDir()
	path := filepath.Join(dir, "app.tar")
	var reports int
	d, err := c.PullArchive(ctx, "fixtures/app", "v1", path, DockerArchive,
		WithProgress(func(string, uint64, uint64) { reports++ }))
	if err != nil || !strings.HasPrefix(d, "sha256:") {
		t.Fatalf("PullArchive: %q %v", d, err)
	}
	if reports < 4 {
		t.Errorf("progress: %d reports", reports)
	}
	var entries []dockerEntry
	if err := json.Unmarshal(tarEntry(t, path, "manifest.json"), &entries); err != nil {
		t.Fatal(err)
	}
	id := os.Getenv("REGISTRY_TEST_IMAGE_ID")
	if len(entries) != 1 || entries[0].Config != strings.TrimPrefix(id, "sha256:")+".json" ||
		len(entries[0].RepoTags) != 1 || entries[0].RepoTags[0] != modeVar("token", "ADDR")+"/fixtures/app:v1" {
		t.Errorf("manifest.json: %+v", entries)
	}
	runSkopeo(t, "copy", "--quiet", "docker-archive:"+path, "dir:"+dir+"/read")
	raw, err := os.ReadFile(dir + "/read/manifest.json")
	if err != nil || !strings.Contains(string(raw), id) {
		t.Errorf("skopeo read the config %s: %s %v", id, raw, err)
	}

	anon := clientFor(t, "anon")
	oci := filepath.Join(dir, "multi.tar")
	d, err = anon.PullArchive(ctx, "fixtures/multi", "latest", oci, OCIArchive)
	if err != nil || d != os.Getenv("REGISTRY_TEST_INDEX_DIGEST") {
		t.Fatalf("oci-archive: %q %v", d, err)
	}
	runSkopeo(t, "copy", "--quiet", "--all", "--preserve-digests", "oci-archive:"+oci, "oci:"+dir+"/oci:x")
	sum := sha256.Sum256(runSkopeo(t, "inspect", "--raw", "oci:"+dir+"/oci:x"))
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != d {
		t.Errorf("skopeo read %s, want %s", got, d)
	}
	arm := filepath.Join(dir, "arm.tar")
	if _, err := anon.PullArchive(ctx, "fixtures/multi", "latest", arm, DockerArchive, WithPlatform("linux/arm64")); err != nil {
		t.Fatal(err)
	}
	entries = nil
	_ = json.Unmarshal(tarEntry(t, arm, "manifest.json"), &entries)
	if len(entries) != 1 || entries[0].Config != strings.TrimPrefix(os.Getenv("REGISTRY_TEST_ARM64_IMAGE_ID"), "sha256:")+".json" {
		t.Errorf("arm64 docker-archive: %+v", entries)
	}
}

func TestSaveSeveralImagesAndFailuresLeaveNoFile(t *testing.T) {
	ctx := context.Background()
	c := clientFor(t, "anon")
	dir := t.TempDir()
	path := filepath.Join(dir, "both.tar")
	digests, err := c.Save(ctx, []ImageRef{{"fixtures/app", "v1"}, {"fixtures/multi", "latest"}}, path)
	if err != nil || len(digests) != 2 {
		t.Fatalf("Save: %v %v", digests, err)
	}
	var entries []dockerEntry
	_ = json.Unmarshal(tarEntry(t, path, "manifest.json"), &entries)
	addr := modeVar("anon", "ADDR")
	if len(entries) != 2 || entries[1].RepoTags[0] != addr+"/fixtures/multi:latest" {
		t.Errorf("manifest.json: %+v", entries)
	}
	runSkopeo(t, "copy", "--quiet", "docker-archive:"+path+":"+addr+"/fixtures/app:v1", "dir:"+dir+"/read")

	empty := t.TempDir()
	none := filepath.Join(empty, "none.tar")
	if _, err := c.PullArchive(ctx, "fixtures/app", "nope", none, DockerArchive); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tag: %v", err)
	}
	if _, err := c.PullArchive(ctx, "fixtures/app", "v1", none, "tarball"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := c.Save(ctx, nil, none); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("nothing to save: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	_, err = c.PullArchive(cctx, "fixtures/big", "v1", none, OCIArchive, WithProgress(func(_ string, done, _ uint64) {
		if done > 0 {
			cancel()
		}
	}))
	if !errors.Is(err, ErrAborted) {
		t.Errorf("cancelled: %v", err)
	}
	if left, _ := os.ReadDir(empty); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestPushArchiveOfEitherFormat(t *testing.T) {
	ctx := context.Background()
	c := clientFor(t, "anon")
	dir := t.TempDir()
	oci := filepath.Join(dir, "multi.tar")
	index, err := c.PullArchive(ctx, "fixtures/multi", "latest", oci, OCIArchive)
	if err != nil {
		t.Fatal(err)
	}
	var reports int
	d, err := c.PushArchive(ctx, oci, "go/from-archive", "multi", WithProgress(func(string, uint64, uint64) { reports++ }))
	if err != nil || d != index || reports == 0 {
		t.Fatalf("PushArchive: %q %v (%d reports), want %s", d, err, reports, index)
	}
	docker := filepath.Join(dir, "skopeo.tar")
	addr := modeVar("anon", "ADDR")
	runSkopeo(t, "copy", "--quiet", "--src-tls-verify=false", "docker://"+addr+"/fixtures/app:v1", "docker-archive:"+docker+":g/app:v1")
	if _, err := c.PushArchive(ctx, docker, "go/from-archive", "app", WithLayoutRef("g/app:v1")); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Config struct{ Digest string }
		Layers []struct{ MediaType string }
	}
	if err := json.Unmarshal(runSkopeo(t, "inspect", "--raw", "--tls-verify=false", "docker://"+addr+"/go/from-archive:app"), &m); err != nil {
		t.Fatal(err)
	}
	if m.Config.Digest != os.Getenv("REGISTRY_TEST_IMAGE_ID") || len(m.Layers) != 1 || m.Layers[0].MediaType != "application/vnd.oci.image.layer.v1.tar" {
		t.Errorf("pushed: %+v", m)
	}
	if _, err := c.PushArchive(ctx, docker, "go/from-archive", "x", WithLayoutRef("g/app:v9")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown ref: %v", err)
	}
	// WithCompress("gzip"): the plain-tar layer goes gzip-compressed, the config kept.
	if _, err := c.PushArchive(ctx, docker, "go/from-archive", "gz", WithCompress("gzip")); err != nil {
		t.Fatal(err)
	}
	var gz struct {
		Config struct{ Digest string }
		Layers []struct{ MediaType string }
	}
	if err := json.Unmarshal(runSkopeo(t, "inspect", "--raw", "--tls-verify=false", "docker://"+addr+"/go/from-archive:gz"), &gz); err != nil {
		t.Fatal(err)
	}
	if gz.Config.Digest != m.Config.Digest || len(gz.Layers) != 1 || gz.Layers[0].MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
		t.Errorf("pushed compressed: %+v", gz)
	}
	if _, err := c.PushArchive(ctx, oci, "go/x", "x", WithCompress("gzip")); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("compressing an oci-archive: %v", err)
	}
	if _, err := c.Pull(ctx, "fixtures/app", "v1", t.TempDir(), WithCompress("gzip")); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("compressing a pull: %v", err)
	}
	junk := filepath.Join(dir, "junk.tar")
	_ = os.WriteFile(junk, []byte(strings.Repeat("no tar", 200)), 0o644)
	if _, err := c.PushArchive(ctx, junk, "go/x", "x"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("junk: %v", err)
	}
}
