package registry

// What the Rust API tells beyond the first calls (ping detail, the v1 tag
// map, an image id for a platform, the catalog, CA certificates from memory,
// identity tokens) and imgpkg's batches (the first image that exists, every
// image of a layout pushed at once).

/*
#include <stdlib.h>
#include "registry.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"strings"
	"unsafe"
)

// WithCAPEM trusts the PEM certificates in pem instead of the built-in
// roots, as WithCAFile does with a file (pem is copied; NewClient fails with
// ErrInvalidArgument when it holds no certificate).
func WithCAPEM(pem []byte) Option {
	return func(b *C.registry_client_builder) error {
		var p unsafe.Pointer
		if len(pem) > 0 {
			p = C.CBytes(pem)
			defer C.free(p)
		}
		var e *C.registry_error
		return takeError(C.registry_client_builder_ca_pem(b, (*C.uint8_t)(p), C.size_t(len(pem)), &e), e)
	}
}

// WithIdentityToken authenticates with an identity token: an OAuth2 refresh
// token (docker's config.json "identitytoken"), sent only to the token server
// the registry's own challenge names and exchanged there for bearer tokens.
func WithIdentityToken(token string) Option {
	return withStrings(func(b *C.registry_client_builder, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_client_builder_identity_token(b, s[0], e)
	}, token, "token")
}

// PingInfo is what a ping found.
type PingInfo struct {
	API API
	// APIVersionHeader is v2's Docker-Distribution-API-Version header
	// ("registry/2.0"), "" when not sent.
	APIVersionHeader string
	// RegistryVersion is v1's X-Docker-Registry-Version header, "" when not
	// sent.
	RegistryVersion string
	// Standalone is, on v1, whether the registry takes credentials itself
	// rather than an index's tokens; nil on v2.
	Standalone *bool
}

// doBuf is do for calls that return a registry_buf: it is copied and freed.
func (c *Client) doBuf(f func(h *C.registry_client, s []*C.char, out **C.registry_buf, e **C.registry_error) C.registry_status, pairs ...string) ([]byte, error) {
	var result []byte
	err := c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		var buf *C.registry_buf
		st := f(h, s, &buf, e)
		if st == C.REGISTRY_STATUS_OK {
			result = takeBuf(buf)
		}
		return st
	}, pairs...)
	return result, err
}

// PingInfo is Ping with what the registry told.
func (c *Client) PingInfo() (*PingInfo, error) {
	body, err := c.doBuf(func(h *C.registry_client, _ []*C.char, out **C.registry_buf, e **C.registry_error) C.registry_status {
		return C.registry_ping_info(h, out, e)
	})
	if err != nil {
		return nil, err
	}
	var raw struct {
		API              string  `json:"api"`
		APIVersionHeader *string `json:"api_version_header"`
		RegistryVersion  *string `json:"registry_version"`
		Standalone       *bool   `json:"standalone"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, &Error{Status: StatusProtocol, Message: "ping info: " + err.Error()}
	}
	info := &PingInfo{API: APIV2, Standalone: raw.Standalone}
	if raw.API == "v1" {
		info.API = APIV1
	}
	if raw.APIVersionHeader != nil {
		info.APIVersionHeader = *raw.APIVersionHeader
	}
	if raw.RegistryVersion != nil {
		info.RegistryVersion = *raw.RegistryVersion
	}
	return info, nil
}

// V1Tags maps every tag of repo to the image id it names (v1 only).
func (c *Client) V1Tags(repo string) (map[string]string, error) {
	body, err := c.doBuf(func(h *C.registry_client, s []*C.char, out **C.registry_buf, e **C.registry_error) C.registry_status {
		return C.registry_v1_tags(h, s[0], out, e)
	}, repo, "repo")
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	if err := json.Unmarshal(body, &tags); err != nil {
		return nil, &Error{Status: StatusProtocol, Message: "v1 tags: " + err.Error()}
	}
	return tags, nil
}

// ImageIDFor is the image id of repo:ref for platform ("os/arch" or
// "os/arch/variant"): v2, the config digest of that platform's manifest of
// an index (or of the manifest itself); v1, the image id the tag names.
func (c *Client) ImageIDFor(repo, ref, platform string) (string, error) {
	return c.doString(func(h *C.registry_client, s []*C.char, out **C.char, e **C.registry_error) C.registry_status {
		return C.registry_image_id_for(h, s[0], s[1], s[2], out, e)
	}, repo, "repo", ref, "reference", platform, "platform")
}

// Catalog lists every repository of a v2 registry (/v2/_catalog, all pages).
func (c *Client) Catalog() ([]string, error) {
	return c.doList(func(h *C.registry_client, _ []*C.char, out **C.registry_list, e **C.registry_error) C.registry_status {
		return C.registry_catalog(h, out, e)
	})
}

// FirstImageExists returns the first of digests whose manifest exists in
// repo, asked with one HEAD request each, in order, and nothing else;
// ErrNotFound when none does (v2).
func (c *Client) FirstImageExists(repo string, digests []string) (string, error) {
	pairs := []string{repo, "repo"}
	for _, d := range digests {
		pairs = append(pairs, d, "digest")
	}
	return c.doString(func(h *C.registry_client, s []*C.char, out **C.char, e **C.registry_error) C.registry_status {
		var first **C.char
		if len(s) > 1 {
			first = &s[1] // C pointers in Go memory: cgo allows it
		}
		return C.registry_first_image_exists(h, s[0], first, C.size_t(len(s)-1), out, e)
	}, pairs...)
}

// PushedImage is one image PushAll pushed.
type PushedImage struct {
	Tag    string
	Digest string
}

// PushAll pushes every image named in the OCI image layout at dir to repo,
// each under its name (org.opencontainers.image.ref.name) as the tag, as one
// transfer (imgpkg's MultiWrite): one parallel budget for all their blobs, a
// blob that several share moved once, one progress stream. It returns the
// images in index.json's order. Every entry must be named with a valid tag:
// an unnamed one is ErrInvalidArgument before anything is sent. Options:
// WithProgress. ctx as for Pull.
func (c *Client) PushAll(ctx context.Context, dir, repo string, opts ...ImageOption) ([]PushedImage, error) {
	o, err := options("PushAll", opts, false, false)
	if err != nil {
		return nil, err
	}
	var list *C.registry_list
	_, err = imageCall(ctx, o, []*Client{c}, func(h []*C.registry_client, s []*C.char, cb C.registry_progress_fn, ud unsafe.Pointer, _ **C.char, e **C.registry_error) C.registry_status {
		return C.registry_image_push_all(h[0], s[0], s[1], cb, ud, &list, e)
	}, dir, "dir", repo, "repo")
	if list == nil {
		return nil, err
	}
	defer C.registry_list_free(list)
	if err != nil {
		return nil, err
	}
	n := C.registry_list_len(list)
	pushed := make([]PushedImage, 0, int(n))
	for i := C.size_t(0); i < n; i++ {
		tag, digest, _ := strings.Cut(C.GoString(C.registry_list_get(list, i)), " ")
		pushed = append(pushed, PushedImage{Tag: tag, Digest: digest})
	}
	return pushed, nil
}
