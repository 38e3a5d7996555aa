package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

func TestArtifactsAndReferrers(t *testing.T) {
	const sig, sbom = "application/vnd.dev.cosign.artifact.sig.v1+json", "application/spdx+json"
	for _, mode := range []string{"anon", "ferro"} {
		t.Run(mode, func(t *testing.T) {
			c, err := NewClient(env(t, modeName(mode)+"_ADDR"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			repo := fmt.Sprintf("go-referrers/app-%d", os.Getpid())
			subject, err := Copy(context.Background(), c, app, "v1", c, repo, "v1")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "sbom.spdx.json")
			if err := os.WriteFile(path, []byte(`{"spdxVersion":"SPDX-2.3"}`), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := c.ArtifactPush(repo, "", sig, subject, []ArtifactFile{{Path: path}})
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.ArtifactPush(repo, "sbom", sbom, subject, []ArtifactFile{{Path: path, MediaType: sbom}})
			if err != nil {
				t.Fatal(err)
			}
			all, err := c.Referrers(repo, subject, "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range all {
				got = append(got, d.Digest)
			}
			want := []string{s, b}
			sort.Strings(got)
			sort.Strings(want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("referrers %v, want %v", got, want)
			}
			only, err := c.Referrers(repo, subject, sbom)
			if err != nil || len(only) != 1 || only[0].Digest != b || only[0].ArtifactType != sbom {
				t.Fatalf("filtered: %+v %v", only, err)
			}
			m, err := c.Manifest(repo, b)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Layers []Descriptor `json:"layers"`
			}
			if err := json.Unmarshal(m.Body, &doc); err != nil || doc.Layers[0].Annotations["org.opencontainers.image.title"] != "sbom.spdx.json" {
				t.Fatalf("layer title: %+v %v", doc, err)
			}
			if _, err := c.ArtifactPush(repo, "", "bad", "", nil); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("bad artifact type: %v", err)
			}
		})
	}
}

func modeName(mode string) string {
	if mode == "anon" {
		return "ANON"
	}
	return "FERRO"
}

func TestTransferOptions(t *testing.T) {
	anon, err := NewClient(env(t, "ANON_ADDR"))
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	ferro, err := NewClient(env(t, "FERRO_ADDR"))
	if err != nil {
		t.Fatal(err)
	}
	defer ferro.Close()
	ctx := context.Background()
	// Two platforms: a new index.
	d, err := anon.Pull(ctx, "fixtures/multi", "latest", t.TempDir(), WithPlatforms("linux/amd64", "linux/arm64"))
	if err != nil || d == env(t, "INDEX_DIGEST") {
		t.Fatalf("subset pull: %q %v", d, err)
	}
	if _, err := anon.Pull(ctx, "fixtures/multi", "latest", t.TempDir(), WithPlatforms("linux/amd64", "linux/s390x")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a platform the index lacks: %v", err)
	}
	// A signed image, copied with its signature.
	repo := fmt.Sprintf("go-transfer/app-%d", os.Getpid())
	subject, err := Copy(ctx, anon, "fixtures/oci", "v1", anon, repo, "v1")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sig")
	if err := os.WriteFile(path, []byte("sig"), 0o600); err != nil {
		t.Fatal(err)
	}
	sig, err := anon.ArtifactPush(repo, "", "application/x.sig", subject, []ArtifactFile{{Path: path}})
	if err != nil {
		t.Fatal(err)
	}
	dst := fmt.Sprintf("go-transfer/copied-%d", os.Getpid())
	if _, err := Copy(ctx, anon, repo, "v1", ferro, dst, "", WithReferrers()); err != nil {
		t.Fatal(err)
	}
	found, err := ferro.Referrers(dst, subject, "")
	if err != nil || len(found) != 1 || found[0].Digest != sig {
		t.Fatalf("referrers carried: %+v %v", found, err)
	}
	if _, err := anon.Push(ctx, t.TempDir(), repo, "x", WithReferrers()); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Push takes no referrers option: %v", err)
	}
}
