package registry

// Whole images: pull into an OCI image layout, push from one, copy between
// repositories or registries, with progress and cancellation; a manifest's
// HEAD and an image's config.

/*
#include <stdlib.h>
#include "registry.h"
extern int32_t registryGoProgress(void *userdata, char *digest, uint64_t done, uint64_t total);
*/
import "C"

import (
	"context"
	"errors"
	"unsafe"
)

// WithParallel sets how many blobs one Pull, Push or Copy moves at once,
// each on its own pooled connection (default 4; 1 = one after another; 0 or
// more than 64 is ErrInvalidArgument).
func WithParallel(n uint32) Option {
	return func(b *C.registry_client_builder) error {
		var e *C.registry_error
		return takeError(C.registry_client_builder_parallel(b, C.uint32_t(n), &e), e)
	}
}

// ImageOption configures Pull, Push and Copy. An option a call cannot use
// (WithPlatform for Push, WithLayoutRef for Pull and Copy) makes it fail
// with ErrInvalidArgument.
type ImageOption func(*imageOptions)

type imageOptions struct {
	platform  string
	platforms []string
	referrers bool
	compress  string
	layoutRef string
	progress  func(digest string, done, total uint64)
}

// WithPlatform keeps one image of an index: "os/arch" or "os/arch/variant"
// ("linux/arm64" picks an arm64/v8 entry; a malformed one is
// ErrInvalidArgument). Without it (or with ""), every platform. Pull and
// Copy.
func WithPlatform(platform string) ImageOption {
	return func(o *imageOptions) { o.platform = platform }
}

// WithPlatforms keeps only these platforms of an index ("os/arch[/variant]"
// each): one, that platform's image (as WithPlatform); two or more, a new
// index holding only their entries (its digest differs from the source
// index's; the children keep theirs; ErrNotFound when the index lacks one).
// Pull and Copy.
func WithPlatforms(platforms ...string) ImageOption {
	return func(o *imageOptions) { o.platforms = append(o.platforms, platforms...) }
}

// WithReferrers also carries every referrer (signatures, SBOMs,
// attestations: manifests whose subject is a carried manifest),
// recursively. A pull lists them in the layout's index.json without a name;
// a copy pushes them by digest. Pull and Copy.
func WithReferrers() ImageOption {
	return func(o *imageOptions) { o.referrers = true }
}

// WithCompress compresses a docker-archive's uncompressed layers on the
// way ("gzip": pushed as application/vnd.oci.image.layer.v1.tar+gzip, the
// config and its diff ids unchanged). PushArchive only; an oci-archive,
// pushed byte for byte, is ErrInvalidArgument.
func WithCompress(compression string) ImageOption {
	return func(o *imageOptions) { o.compress = compression }
}

// transferOptions is the C registry_transfer_options o asks for (nil when
// a plain call does), freed by the caller with
// C.registry_transfer_options_free.
func transferOptions(o *imageOptions) (*C.registry_transfer_options, error) {
	if o.platform == "" && len(o.platforms) == 0 && !o.referrers && o.compress == "" {
		return nil, nil
	}
	var t *C.registry_transfer_options
	var e *C.registry_error
	if err := takeError(C.registry_transfer_options_new(&t, &e), e); err != nil {
		return nil, err
	}
	platforms := o.platforms
	if o.platform != "" {
		platforms = append([]string{o.platform}, platforms...)
	}
	// set calls one of t's setters with s as a C string.
	set := func(s, what string, setter func(*C.char) C.registry_status) error {
		cs, err := cstring(s, what)
		if err != nil {
			return err
		}
		defer C.free(unsafe.Pointer(cs))
		return takeError(setter(cs), e)
	}
	var err error
	for _, p := range platforms {
		if err = set(p, "platform", func(cs *C.char) C.registry_status {
			return C.registry_transfer_options_platform(t, cs, &e)
		}); err != nil {
			break
		}
	}
	if err == nil {
		err = takeError(C.registry_transfer_options_referrers(t, C.bool(o.referrers), &e), e)
	}
	if err == nil && o.compress != "" {
		err = set(o.compress, "compression", func(cs *C.char) C.registry_status {
			return C.registry_transfer_options_compress(t, cs, &e)
		})
	}
	if err != nil {
		C.registry_transfer_options_free(t)
		return nil, err
	}
	return t, nil
}

// WithLayoutRef names the image to push among those of the layout (its
// org.opencontainers.image.ref.name); without it, the layout's only image.
// Push.
func WithLayoutRef(name string) ImageOption {
	return func(o *imageOptions) { o.layoutRef = name }
}

// WithProgress calls f for every blob and manifest the call moves: first
// with done == 0, then as bytes move, last with done == total (also for a
// blob skipped because it was there, or mounted); total is 0 when unknown,
// and a report may come twice. f runs on the calling goroutine, never
// concurrently, while the call is inside the library: it must not call
// runtime.Goexit (t.FailNow). A panic in f cancels the call, which then
// panics with the same value once the library has returned.
func WithProgress(f func(digest string, done, total uint64)) ImageOption {
	return func(o *imageOptions) { o.progress = f }
}

// options applies opts; call names the method for the error when one of
// them does not apply.
func options(call string, opts []ImageOption, platform, layoutRef bool) (*imageOptions, error) {
	o := &imageOptions{}
	for _, opt := range opts {
		opt(o)
	}
	if ((o.platform != "" || len(o.platforms) > 0 || o.referrers) && !platform) || (o.layoutRef != "" && !layoutRef) ||
		(o.compress != "" && call != "PushArchive") {
		return nil, &Error{Status: StatusInvalidArgument, Message: call + " takes no such option"}
	}
	return o, nil
}

// Pull pulls repo:ref (a tag or a digest) into the OCI image layout at dir
// (created if missing; an existing layout gains the image, and blobs it
// holds are not fetched again) and returns the digest of the manifest or
// index written there. The image is named by its tag in the layout
// (skopeo's oci:DIR:TAG), a pull by digest by the digest. Every blob is
// verified, and index.json is written last: a failed or cancelled pull
// names nothing new, and keeps its verified and partial blobs for a later
// pull to resume. Options: WithPlatform, WithPlatforms, WithReferrers,
// WithProgress.
//
// Cancelling ctx cancels the call at its next progress report: one comes
// at least for every 256 KiB moved, and every 250 ms while blobs move or
// stall, so that a blob request waiting on a silent server is abandoned
// within about a third of a second. (The manifests are read before the
// blobs move and written after; a manifest request that stalls ends under
// the client's timeout.) The error then satisfies errors.Is(err, ctx.Err())
// and errors.Is(err, ErrAborted). A call that finished before it saw the
// cancellation returns its digest. The same holds for Push and Copy.
func (c *Client) Pull(ctx context.Context, repo, ref, dir string, opts ...ImageOption) (string, error) {
	o, err := options("Pull", opts, true, false)
	if err != nil {
		return "", err
	}
	platform, err := optionalCString(o.platform, "platform")
	if err != nil {
		return "", err
	}
	defer C.free(unsafe.Pointer(platform))
	t, err := transferOptions(o)
	if err != nil {
		return "", err
	}
	defer C.registry_transfer_options_free(t)
	return imageCall(ctx, o, []*Client{c}, func(h []*C.registry_client, s []*C.char, cb C.registry_progress_fn, ud unsafe.Pointer, out **C.char, e **C.registry_error) C.registry_status {
		if t != nil {
			return C.registry_image_pull_with(h[0], s[0], s[1], t, s[2], cb, ud, out, e)
		}
		return C.registry_image_pull(h[0], s[0], s[1], platform, s[2], cb, ud, out, e)
	}, repo, "repo", ref, "reference", dir, "dir")
}

// Push pushes an image of the OCI image layout at dir (WithLayoutRef
// names it; without, the layout's only image) to repo:tag and returns its
// digest. Blobs the registry has are skipped; manifests go byte for byte,
// last, so a failed or cancelled push tags nothing. Options:
// WithLayoutRef, WithProgress. ctx as for Pull.
func (c *Client) Push(ctx context.Context, dir, repo, tag string, opts ...ImageOption) (string, error) {
	o, err := options("Push", opts, false, true)
	if err != nil {
		return "", err
	}
	layoutRef, err := optionalCString(o.layoutRef, "layout ref")
	if err != nil {
		return "", err
	}
	defer C.free(unsafe.Pointer(layoutRef))
	return imageCall(ctx, o, []*Client{c}, func(h []*C.registry_client, s []*C.char, cb C.registry_progress_fn, ud unsafe.Pointer, out **C.char, e **C.registry_error) C.registry_status {
		return C.registry_image_push(h[0], s[0], layoutRef, s[1], s[2], cb, ud, out, e)
	}, dir, "dir", repo, "repo", tag, "tag")
}

// Copy copies srcRepo:srcRef from src's registry to dstRepo:dstTag on dst
// (which may be src) and returns the digest copied. dstTag "" keeps the tag
// (by digest only, when srcRef is a digest). On one registry blobs are
// mounted; between two, their bytes stream from one to the other,
// verified, without touching the disk. Manifests are copied byte for byte,
// so digests stay. Both clients stay open for the call: Close on either
// waits for it. Options: WithPlatform, WithPlatforms, WithReferrers,
// WithProgress. ctx as for Pull.
func Copy(ctx context.Context, src *Client, srcRepo, srcRef string, dst *Client, dstRepo, dstTag string, opts ...ImageOption) (string, error) {
	o, err := options("Copy", opts, true, false)
	if err != nil {
		return "", err
	}
	tag, err := optionalCString(dstTag, "tag")
	if err != nil {
		return "", err
	}
	defer C.free(unsafe.Pointer(tag))
	platform, err := optionalCString(o.platform, "platform")
	if err != nil {
		return "", err
	}
	defer C.free(unsafe.Pointer(platform))
	t, err := transferOptions(o)
	if err != nil {
		return "", err
	}
	defer C.registry_transfer_options_free(t)
	return imageCall(ctx, o, []*Client{src, dst}, func(h []*C.registry_client, s []*C.char, cb C.registry_progress_fn, ud unsafe.Pointer, out **C.char, e **C.registry_error) C.registry_status {
		if t != nil {
			return C.registry_image_copy_with(h[0], s[0], s[1], h[1], s[2], tag, t, cb, ud, out, e)
		}
		return C.registry_image_copy(h[0], s[0], s[1], h[1], s[2], tag, platform, cb, ud, out, e)
	}, srcRepo, "source repo", srcRef, "source reference", dstRepo, "destination repo")
}

// imageCall runs one whole-image call: with the handles of clients (each
// held open for the call), the C copies of the (value, name) string pairs,
// and the progress callback when o has a progress func or ctx can be
// cancelled; it returns the digest the call gave.
func imageCall(ctx context.Context, o *imageOptions, clients []*Client,
	call func(h []*C.registry_client, s []*C.char, cb C.registry_progress_fn, ud unsafe.Pointer, out **C.char, e **C.registry_error) C.registry_status,
	pairs ...string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", cancelled(err)
	}
	s, free, err := cstrings(pairs...)
	if err != nil {
		return "", err
	}
	defer free()
	handles, release, err := holdOpen(clients)
	if err != nil {
		return "", err
	}
	defer release()
	p := &progress{ctx: ctx, fn: o.progress}
	var cb C.registry_progress_fn
	var ud unsafe.Pointer
	if o.progress != nil || ctx.Done() != nil {
		userdata, freeHandle := cHandle(p)
		defer freeHandle()
		cb, ud = C.registry_progress_fn(C.registryGoProgress), userdata
	}
	var out *C.char
	var e *C.registry_error
	st := call(handles, s, cb, ud, &out, &e)
	digest := ""
	if st == C.REGISTRY_STATUS_OK {
		digest = takeString(out)
	}
	err = takeError(st, e)
	if p.panicked {
		panic(p.panicVal) // the progress func's own panic, now that no C frame is in the way
	}
	if p.ctxErr != nil && errors.Is(err, ErrAborted) {
		return "", cancelled(p.ctxErr)
	}
	return digest, err
}

// cancelled is the error of a call that ctx cancelled: ErrAborted that
// unwraps to ctx's error.
func cancelled(ctxErr error) error {
	return &Error{Status: StatusAborted, Message: "cancelled: " + ctxErr.Error(), cause: ctxErr}
}

// holdOpen acquires each client once, however often it is listed, and
// returns their handles in the order given; release lets them go. A nil,
// closed or closing client is ErrInvalidArgument.
func holdOpen(clients []*Client) (handles []*C.registry_client, release func(), err error) {
	var held []*Client
	release = func() {
		for _, c := range held {
			c.release()
		}
	}
	byClient := map[*Client]*C.registry_client{}
	for _, c := range clients {
		if c == nil {
			release()
			return nil, nil, &Error{Status: StatusInvalidArgument, Message: "nil client"}
		}
		h, ok := byClient[c]
		if !ok {
			if h, err = c.acquire(); err != nil {
				release()
				return nil, nil, err
			}
			byClient[c] = h
			held = append(held, c)
		}
		handles = append(handles, h)
	}
	return handles, release, nil
}

// ManifestInfo is what a manifest's HEAD tells.
type ManifestInfo struct {
	Digest    string
	MediaType string
	Size      uint64 // 0 when the registry sent no Content-Length
}

// ManifestHead reads a manifest's digest, media type and size without its
// body (v2).
func (c *Client) ManifestHead(repo, ref string) (*ManifestInfo, error) {
	var m *ManifestInfo
	err := c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		var digest, media *C.char
		var size C.uint64_t
		st := C.registry_manifest_head(h, s[0], s[1], &digest, &media, &size, e)
		if st == C.REGISTRY_STATUS_OK {
			m = &ManifestInfo{Digest: takeString(digest), MediaType: takeString(media), Size: uint64(size)}
		}
		return st
	}, repo, "repo", ref, "reference")
	return m, err
}

// Config is the image's config JSON as the registry stores it (checked
// against its digest, so its SHA-256 is the image id): for an index, the
// image for platform ("os/arch[/variant]"; "" means linux/amd64).
func (c *Client) Config(repo, ref, platform string) ([]byte, error) {
	p, err := optionalCString(platform, "platform")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(p))
	var config []byte
	err = c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		var buf *C.registry_buf
		st := C.registry_image_config(h, s[0], s[1], p, &buf, e)
		if st == C.REGISTRY_STATUS_OK {
			config = takeBuf(buf)
		}
		return st
	}, repo, "repo", ref, "reference")
	return config, err
}
