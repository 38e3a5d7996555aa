package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOneClientSharedByManyGoroutines runs goroutines × perGoroutine mixed
// read and write operations through one *Client against the token-auth
// registry (tokens fetched, cached and refreshed concurrently, for many
// scopes) and wants every one of them to succeed with the right answer.
//
// Reads all go to fixtures/app; each goroutine writes to a repository of its
// own. Distribution 2.8's filesystem driver rewrites link files in place, so
// storing the same manifest (or the same small blob) in one repository from
// several goroutines at once makes concurrent readers of that repository see
// an empty link: HTTP 500 "invalid checksum digest format", or DIGEST_INVALID
// on a manifest PUT. That is the registry's race, not the client's.
func TestOneClientSharedByManyGoroutines(t *testing.T) {
	const goroutines, perGoroutine = 8, 100
	c := clientFor(t, "token")
	imageID, layer := env(t, "IMAGE_ID"), env(t, "LAYER_DIGEST")
	m, err := c.Manifest(app, "v1")
	if err != nil {
		t.Fatal(err)
	}
	// repos[g] is goroutine g's: fixtures/app:v1 as "base", and its uploads.
	repos := make([]string, goroutines)
	for g := range repos {
		repos[g] = fmt.Sprintf("go/shared-%d-%d", os.Getpid(), g)
		for _, blob := range []string{layer, imageID} {
			if ok, err := c.MountBlob(repos[g], blob, app); err != nil || !ok {
				t.Fatalf("mount %s: %v %v", blob, ok, err)
			}
		}
		if _, err := c.PutManifest(repos[g], "base", m.MediaType, m.Body); err != nil {
			t.Fatal(err)
		}
	}

	ops := []struct {
		name string
		run  func(g, i int) error
	}{
		{"tags", func(g, i int) error {
			tags, err := c.Tags(app)
			if err == nil && fmt.Sprint(tags) != "[v1 v2]" {
				err = fmt.Errorf("tags %v", tags)
			}
			return err
		}},
		{"image id", func(g, i int) error {
			id, err := c.ImageID(app, []string{"v1", "v2"}[i%2])
			if err == nil && id != imageID {
				err = fmt.Errorf("image id %s", id)
			}
			return err
		}},
		{"manifest", func(g, i int) error {
			got, err := c.Manifest(app, "v1")
			if err == nil && (got.Digest != m.Digest || !bytes.Equal(got.Body, m.Body)) {
				err = fmt.Errorf("manifest %s", got.Digest)
			}
			return err
		}},
		{"layer exists", func(g, i int) error {
			ok, err := c.LayerExists(app, layer)
			if err == nil && !ok {
				err = errors.New("the fixture layer is missing")
			}
			if err == nil {
				if ok, err = c.LayerExists(app, missingBlob); err == nil && ok {
					err = errors.New("a missing blob exists")
				}
			}
			return err
		}},
		{"layer download", func(g, i int) error {
			r, err := c.OpenLayer(app, layer)
			if err != nil {
				return err
			}
			defer r.Close()
			h := sha256.New()
			if _, err := io.Copy(h, r); err != nil {
				return err
			}
			if d := "sha256:" + hex.EncodeToString(h.Sum(nil)); d != layer {
				return fmt.Errorf("downloaded %s", d)
			}
			return nil
		}},
		{"upload", func(g, i int) error {
			data := []byte(strings.Repeat(fmt.Sprintf("goroutine %d operation %d of pid %d\n", g, i, os.Getpid()), 50))
			d, err := c.PutLayer(repos[g], bytes.NewReader(data), "")
			if err == nil && d != digestOf(data) {
				err = fmt.Errorf("uploaded as %s", d)
			}
			if err == nil {
				var ok bool
				if ok, err = c.LayerExists(repos[g], d); err == nil && !ok {
					err = errors.New("the uploaded blob is missing")
				}
			}
			return err
		}},
		{"set and delete tag", func(g, i int) error {
			repo, tag := repos[g], fmt.Sprintf("op%d", i)
			if err := c.SetTag(repo, "base", tag); err != nil {
				return fmt.Errorf("set: %w", err)
			}
			if id, err := c.ImageID(repo, tag); err != nil || id != imageID {
				return fmt.Errorf("image id of the new tag: %s %v", id, err)
			}
			if err := c.DeleteTag(repo, tag); err != nil {
				return fmt.Errorf("delete: %w", err)
			}
			if _, err := c.ImageID(repo, tag); !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("after delete: %v", err)
			}
			return nil
		}},
		{"hub token", func(g, i int) error {
			a := []Access{AccessRead, AccessWrite, AccessDelete}[(g+i)%3]
			tok, err := c.HubToken([]string{app, repos[g]}[i%2], a)
			if err == nil && strings.Count(tok, ".") != 2 {
				err = fmt.Errorf("token %q is no JWT", tok)
			}
			return err
		}},
	}

	start := time.Now()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
		counts   = map[string]int{}
	)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < perGoroutine; i++ {
				op := ops[(g+i)%len(ops)]
				err := op.run(g, i)
				mu.Lock()
				counts[op.name]++
				if err != nil {
					failures = append(failures, fmt.Sprintf("goroutine %d, operation %d (%s): %v", g, i, op.name, err))
				}
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	t.Logf("%d operations by %d goroutines in %v: %v", goroutines*perGoroutine, goroutines, time.Since(start).Round(time.Millisecond), counts)
	if len(failures) > 0 {
		sort.Strings(failures)
		t.Fatalf("%d of %d operations failed:\n%s", len(failures), goroutines*perGoroutine, strings.Join(failures, "\n"))
	}
	for _, repo := range repos {
		if tags, err := c.Tags(repo); err != nil || fmt.Sprint(tags) != "[base]" {
			t.Fatalf("tags left in %s: %v %v", repo, tags, err)
		}
	}
}
