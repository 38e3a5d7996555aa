package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Sync from distribution (anon) to ferro: a missing tag reported, the
// others copied; the second run skips them with no GET at the source (by its
// access log); a platform subset; bad arguments.
func TestSync(t *testing.T) {
	ctx := context.Background()
	ua := fmt.Sprintf("go-sync-%d", os.Getpid())
	src := clientFor(t, "anon", WithUserAgent(ua))
	dst := clientFor(t, "ferro")
	repo := fmt.Sprintf("go-sync/src-%d", os.Getpid())
	dstRepo := fmt.Sprintf("go-sync/dst-%d", os.Getpid())
	v1, err := Copy(ctx, src, app, "v1", src, repo, "v1")
	if err != nil {
		t.Fatal(err)
	}
	multi, err := Copy(ctx, src, "fixtures/multi", "latest", src, repo, "multi")
	if err != nil {
		t.Fatal(err)
	}
	reports := 0
	r, err := Sync(ctx, src, repo, dst, dstRepo, []string{"v1", "gone", "multi"},
		WithProgress(func(string, uint64, uint64) { reports++ }))
	if err != nil {
		t.Fatal(err)
	}
	want := []SyncedTag{{"v1", v1}, {"multi", multi}}
	if fmt.Sprint(r.Copied) != fmt.Sprint(want) || len(r.Skipped) != 0 {
		t.Fatalf("copied %v skipped %v, want %v", r.Copied, r.Skipped, want)
	}
	if len(r.Failed) != 1 || r.Failed[0].Tag != "gone" || r.Failed[0].Status != "NOT_FOUND" || r.Failed[0].Message == "" {
		t.Fatalf("failed %+v", r.Failed)
	}
	if reports == 0 {
		t.Fatal("no progress")
	}
	if h, err := dst.ManifestHead(dstRepo, "multi"); err != nil || h.Digest != multi {
		t.Fatalf("at ferro: %+v, %v", h, err)
	}

	before := len(logRequests(t, "anon", ua))
	again, err := Sync(ctx, src, repo, dst, dstRepo, nil)
	if err != nil || len(again.Copied) != 0 || len(again.Skipped) != 2 || len(again.Failed) != 0 {
		t.Fatalf("second run %+v, %v", again, err)
	}
	for _, req := range logRequests(t, "anon", ua)[before:] {
		if strings.HasPrefix(req, "GET ") && (strings.Contains(req, "/manifests/") || strings.Contains(req, "/blobs/")) {
			t.Fatalf("the second run sent %s", req)
		}
	}

	one, err := Sync(ctx, src, repo, dst, dstRepo+"-amd64", []string{"multi"}, WithPlatforms("linux/amd64"), WithReferrers())
	if err != nil || len(one.Copied) != 1 || one.Copied[0].Digest == multi {
		t.Fatalf("one platform: %+v, %v", one, err)
	}
	none, err := Sync(ctx, src, repo, dst, dstRepo, []string{})
	if err != nil || len(none.Copied)+len(none.Skipped)+len(none.Failed) != 0 {
		t.Fatalf("no tags: %+v, %v", none, err)
	}
	if _, err := Sync(ctx, src, repo, dst, dstRepo, []string{"no:good"}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad tag: %v", err)
	}
	if _, err := Sync(ctx, src, repo, dst, dstRepo, nil, WithPlatforms("nonsense")); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad platform: %v", err)
	}
	if _, err := Sync(ctx, src, repo, nil, dstRepo, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("nil dst: %v", err)
	}
	if _, err := Sync(ctx, src, repo, dst, dstRepo, nil, WithLayoutRef("x")); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("layout ref: %v", err)
	}
}
