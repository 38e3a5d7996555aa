package registry

// Image archives: one image pulled into a docker-archive (what docker save
// writes and docker load reads) or an oci-archive (a tar of an OCI image
// layout), and several images saved into one docker-archive.

/*
#include <stdlib.h>
#include "registry.h"
*/
import "C"

import (
	"context"
	"unsafe"
)

// The archive formats PullArchive writes.
const (
	// DockerArchive is what docker save writes and docker load reads:
	// manifest.json (Config, RepoTags "host:port/repo:tag", Layers), the
	// config, one file per layer, the legacy repositories file. One
	// platform per image.
	DockerArchive = "docker-archive"
	// OCIArchive is a tar of an OCI image layout; digests are kept.
	OCIArchive = "oci-archive"
)

// PullArchive pulls repo:ref (a tag or a digest) into one archive file at
// path, in format (DockerArchive or OCIArchive; another is
// ErrInvalidArgument), and returns the digest of the manifest (or index)
// it holds. A docker-archive holds one platform: WithPlatform's, else
// linux/amd64; an oci-archive keeps an index whole unless WithPlatform
// picks one. Blobs stream from the registry into the archive, each
// verified on the way; the file appears at path only once whole: after a
// failure or cancellation nothing is there. Options: WithPlatform,
// WithProgress. ctx as for Pull.
func (c *Client) PullArchive(ctx context.Context, repo, ref, path, format string, opts ...ImageOption) (string, error) {
	o, err := options("PullArchive", opts, true, false)
	if err != nil {
		return "", err
	}
	t, err := transferOptions(o)
	if err != nil {
		return "", err
	}
	defer C.registry_transfer_options_free(t)
	return imageCall(ctx, o, []*Client{c}, func(h []*C.registry_client, s []*C.char, cb C.registry_progress_fn, ud unsafe.Pointer, out **C.char, e **C.registry_error) C.registry_status {
		return C.registry_image_pull_archive(h[0], s[0], s[1], t, s[2], s[3], cb, ud, out, e)
	}, repo, "repo", ref, "reference", path, "path", format, "format")
}

// ImageRef names one image of a repository: a tag or a digest.
type ImageRef struct {
	Repo string
	Ref  string
}

// Save saves images into one docker-archive at path, as docker save does:
// each its own manifest.json entry with its RepoTags, blobs the images
// share written once, written atomically as PullArchive writes. Returns
// the manifest digest of each image, in order. Options: WithPlatform,
// WithProgress. ctx as for Pull.
func (c *Client) Save(ctx context.Context, images []ImageRef, path string, opts ...ImageOption) ([]string, error) {
	o, err := options("Save", opts, true, false)
	if err != nil {
		return nil, err
	}
	t, err := transferOptions(o)
	if err != nil {
		return nil, err
	}
	defer C.registry_transfer_options_free(t)
	pairs := []string{path, "path"}
	for _, i := range images {
		pairs = append(pairs, i.Repo, "repo", i.Ref, "reference")
	}
	n := len(images)
	var list *C.registry_list
	_, err = imageCall(ctx, o, []*Client{c}, func(h []*C.registry_client, s []*C.char, cb C.registry_progress_fn, ud unsafe.Pointer, _ **C.char, e **C.registry_error) C.registry_status {
		slots := 2 * n
		if slots == 0 {
			slots = 1
		}
		arrays := C.malloc(C.size_t(slots) * C.size_t(unsafe.Sizeof(uintptr(0))))
		defer C.free(arrays)
		ptrs := unsafe.Slice((**C.char)(arrays), slots)
		for i := 0; i < n; i++ {
			ptrs[i] = s[1+2*i]
			ptrs[n+i] = s[2+2*i]
		}
		repos := (**C.char)(arrays)
		refs := (**C.char)(unsafe.Add(arrays, n*int(unsafe.Sizeof(uintptr(0)))))
		return C.registry_image_save(h[0], repos, refs, C.size_t(n), t, s[0], cb, ud, &list, e)
	}, pairs...)
	if list == nil {
		return nil, err
	}
	defer C.registry_list_free(list)
	if err != nil {
		return nil, err
	}
	count := C.registry_list_len(list)
	digests := make([]string, 0, int(count))
	for i := C.size_t(0); i < count; i++ {
		digests = append(digests, C.GoString(C.registry_list_get(list, i)))
	}
	return digests, nil
}

// PushArchive pushes the image of the archive file at path to repo:tag and
// returns the digest pushed. Either format, told by its content: an
// oci-archive is pushed byte for byte (WithLayoutRef: its image's ref.name
// or digest); a docker-archive (docker save, skopeo) gets an OCI manifest
// for its layers as stored (WithLayoutRef: one of its RepoTags, or "@N").
// Without WithLayoutRef, the archive's only image. The archive is
// untrusted: links, devices, climbing names and lying sizes are
// ErrInvalidArgument before anything is sent. Options: WithLayoutRef,
// WithCompress, WithPlatform (one image of an oci-archive's index),
// WithProgress. ctx as for Pull.
func (c *Client) PushArchive(ctx context.Context, path, repo, tag string, opts ...ImageOption) (string, error) {
	o, err := options("PushArchive", opts, true, true)
	if err != nil {
		return "", err
	}
	archiveRef, err := optionalCString(o.layoutRef, "archive ref")
	if err != nil {
		return "", err
	}
	defer C.free(unsafe.Pointer(archiveRef))
	t, err := transferOptions(o)
	if err != nil {
		return "", err
	}
	defer C.registry_transfer_options_free(t)
	return imageCall(ctx, o, []*Client{c}, func(h []*C.registry_client, s []*C.char, cb C.registry_progress_fn, ud unsafe.Pointer, out **C.char, e **C.registry_error) C.registry_status {
		return C.registry_image_push_archive_with(h[0], s[0], archiveRef, s[1], s[2], t, cb, ud, out, e)
	}, path, "path", repo, "repo", tag, "tag")
}
