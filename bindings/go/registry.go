// Package registry is the Go wrapper of the registry C library
// (include/registry.h): a blocking Docker/OCI registry client.
//
// A Client is safe for concurrent use by many goroutines. Errors travel as
// values returned by each call (no thread-local state), so goroutines moving
// between OS threads are fine.
//
// cgo finds the C library through pkg-config (registry.pc, which `make
// install` puts in <prefix>/lib/pkgconfig; set PKG_CONFIG_PATH for a prefix
// pkg-config does not search) and links the shared library,
// libregistry.so.<major>, which the program then needs at run time. Built
// with the tag registry_static, the program is linked fully static instead
// (see static.go).
package registry

/*
#cgo pkg-config: registry
#include <stdlib.h>
#include "registry.h"
extern int32_t registryGoRead(void *userdata, uint8_t *buf, size_t cap, size_t *out_n);
*/
import "C"

import (
	"encoding/json"
	"io"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// API selects or reports the registry API version.
type API uint32

// API values, as in registry.h.
const (
	APIAuto API = C.REGISTRY_API_AUTO
	APIV1   API = C.REGISTRY_API_V1
	APIV2   API = C.REGISTRY_API_V2
)

// Version is the library version, e.g. "0.1.0".
func Version() string { return C.GoString(C.registry_version()) }

// StatusName is the static name of a status, e.g. "NOT_FOUND".
func StatusName(s Status) string { return C.GoString(C.registry_status_name(C.uint32_t(s))) }

// takeError converts and frees a registry_error.
func takeError(status C.registry_status, err *C.registry_error) error {
	if status == C.REGISTRY_STATUS_OK {
		return nil
	}
	e := &Error{Status: Status(status)}
	if err != nil {
		e.Status = Status(C.registry_error_status(err))
		e.Message = C.GoString(C.registry_error_message(err))
		e.HTTPStatus = int(C.registry_error_http_status(err))
		if code := C.registry_error_code(err); code != nil {
			e.Code = C.GoString(code)
		}
		C.registry_error_free(err)
	}
	return e
}

// cstring copies s for C; the caller frees it. A NUL inside s would silently
// cut the string short in C, so it is an error here.
func cstring(s, name string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, &Error{Status: StatusInvalidArgument, Message: name + " contains a NUL byte"}
	}
	return C.CString(s), nil
}

// cstrings copies several strings; free releases them all.
func cstrings(pairs ...string) (out []*C.char, free func(), err error) {
	free = func() {
		for _, p := range out {
			C.free(unsafe.Pointer(p))
		}
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		p, e := cstring(pairs[i], pairs[i+1])
		if e != nil {
			free()
			return nil, func() {}, e
		}
		out = append(out, p)
	}
	return out, free, nil
}

// Option configures NewClient.
type Option func(b *C.registry_client_builder) error

func withStrings(call func(b *C.registry_client_builder, s []*C.char, err **C.registry_error) C.registry_status, pairs ...string) Option {
	return func(b *C.registry_client_builder) error {
		s, free, err := cstrings(pairs...)
		if err != nil {
			return err
		}
		defer free()
		var e *C.registry_error
		return takeError(call(b, s, &e), e)
	}
}

// WithBasicAuth authenticates with a user name and password.
func WithBasicAuth(user, password string) Option {
	return withStrings(func(b *C.registry_client_builder, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_client_builder_basic_auth(b, s[0], s[1], e)
	}, user, "user", password, "password")
}

// WithBearerToken sends token as a bearer token on every request.
func WithBearerToken(token string) Option {
	return withStrings(func(b *C.registry_client_builder, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_client_builder_bearer_token(b, s[0], e)
	}, token, "token")
}

// WithDockerConfig reads credentials from docker's config.json at path; ""
// turns the lookup off (as "" does in C). Without this option the client
// reads $DOCKER_CONFIG/config.json, else ~/.docker/config.json. The file is
// read by NewClient, and only when no WithBasicAuth or WithBearerToken was
// given (those win); a missing file means anonymous, a malformed one is
// ErrInvalidArgument.
func WithDockerConfig(path string) Option {
	return withStrings(func(b *C.registry_client_builder, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_client_builder_docker_config(b, s[0], e)
	}, path, "path")
}

// WithCertsDir reads docker's certs.d layout from dir instead of
// /etc/docker/certs.d, which a client reads without this option (when it
// exists), as docker does; "" turns the lookup off (as "" does in C, and as
// for WithDockerConfig): <dir>/<host:port>/*.crt are CAs, a .cert + .key pair
// a client certificate for mutual TLS.
func WithCertsDir(dir string) Option {
	return withStrings(func(b *C.registry_client_builder, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_client_builder_certs_dir(b, s[0], e)
	}, dir, "dir")
}

// WithUploadStateDir records every blob upload's session in dir (one small
// file per blob, mode 0600, no credentials, removed once the blob is
// committed), so that a push, copy or PutLayer of the same blob after a
// crash or kill asks the registry how much it holds and sends only the rest;
// "" turns it off (the default).
func WithUploadStateDir(dir string) Option {
	return withStrings(func(b *C.registry_client_builder, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_client_builder_upload_state_dir(b, s[0], e)
	}, dir, "dir")
}

// WithProxy sends every request through the HTTP proxy at url ("" = none),
// loopback registries included. Without it the proxy comes from HTTPS_PROXY /
// HTTP_PROXY / NO_PROXY, never for loopback.
func WithProxy(url string) Option {
	return withStrings(func(b *C.registry_client_builder, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_client_builder_proxy(b, s[0], e)
	}, url, "url")
}

// WithMirror reads through the mirror at url first (docker's
// registry-mirrors); repeat it for several, in order of preference. url is
// "https://host[:port]", or "http://host[:port]" for plain HTTP to that
// mirror, with no path, query or user (ErrInvalidArgument otherwise). Reads
// try each mirror, then the registry; a mirror that fails is skipped;
// writes never go to one; a mirror gets credentials only from its own
// config.json entry.
func WithMirror(url string) Option {
	return withStrings(func(b *C.registry_client_builder, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_client_builder_mirror(b, s[0], e)
	}, url, "url")
}

// WithMaxRetries sets how often idempotent requests are tried again (default
// 3; 0 turns retries off).
func WithMaxRetries(n uint32) Option {
	return func(b *C.registry_client_builder) error {
		var e *C.registry_error
		return takeError(C.registry_client_builder_max_retries(b, C.uint32_t(n), &e), e)
	}
}

// WithCAFile trusts the PEM certificates in path instead of the built-in roots.
func WithCAFile(path string) Option {
	return withStrings(func(b *C.registry_client_builder, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_client_builder_ca_file(b, s[0], e)
	}, path, "path")
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return withStrings(func(b *C.registry_client_builder, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_client_builder_user_agent(b, s[0], e)
	}, ua, "user agent")
}

// WithInsecure allows plain HTTP when the registry does not speak TLS.
func WithInsecure() Option {
	return func(b *C.registry_client_builder) error {
		var e *C.registry_error
		return takeError(C.registry_client_builder_insecure(b, C.bool(true), &e), e)
	}
}

// WithTimeout sets the timeout (default 30 s): a small document (JSON, token,
// manifest) must arrive whole within it; a blob transfer fails when no byte
// moves within it.
func WithTimeout(d time.Duration) Option {
	return func(b *C.registry_client_builder) error {
		var e *C.registry_error
		return takeError(C.registry_client_builder_timeout_ms(b, C.uint64_t(d.Milliseconds()), &e), e)
	}
}

// WithUnauthorizedIsNotFound reads a 401 on a read, right after a token was
// granted for its scope, as ErrNotFound: Docker Hub answers so for a
// repository that does not exist (or that the credentials may not see). On
// by default for docker.io, off for other registries.
func WithUnauthorizedIsNotFound(on bool) Option {
	return func(b *C.registry_client_builder) error {
		var e *C.registry_error
		return takeError(C.registry_client_builder_unauthorized_is_not_found(b, C.bool(on), &e), e)
	}
}

// WithAPI chooses the API instead of detecting it.
func WithAPI(api API) Option {
	return func(b *C.registry_client_builder) error {
		var e *C.registry_error
		return takeError(C.registry_client_builder_api(b, C.uint32_t(api), &e), e)
	}
}

// Client talks to one registry. Safe for concurrent use; call Close when done.
type Client struct {
	mu       sync.Mutex
	idle     sync.Cond // signalled when inFlight drops to 0
	inFlight int       // calls using c
	closing  bool      // Close was called: new calls fail, Close waits for inFlight
	c        *C.registry_client
}

// acquire returns the live handle for a call, which must release it; a
// closed or closing client is ErrInvalidArgument, so that a call made from
// inside another call's callback fails instead of waiting on Close.
func (c *Client) acquire() (*C.registry_client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil || c.closing {
		return nil, &Error{Status: StatusInvalidArgument, Message: "the client is closed"}
	}
	c.inFlight++
	return c.c, nil
}

func (c *Client) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight--
	if c.inFlight == 0 {
		c.idle.Broadcast()
	}
}

// NewClient builds a client for addr: "localhost:5000", "docker.io",
// "https://host:port" or "http://host:port".
func NewClient(addr string, opts ...Option) (*Client, error) {
	a, err := cstring(addr, "address")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(a))
	var b *C.registry_client_builder
	var e *C.registry_error
	if err := takeError(C.registry_client_builder_new(a, &b, &e), e); err != nil {
		return nil, err
	}
	for _, opt := range opts {
		if err := opt(b); err != nil {
			C.registry_client_builder_free(b)
			return nil, err
		}
	}
	var c *C.registry_client
	if err := takeError(C.registry_client_builder_build(b, &c, &e), e); err != nil {
		return nil, err
	}
	client := &Client{c: c}
	client.idle.L = &client.mu
	runtime.SetFinalizer(client, (*Client).Close)
	return client, nil
}

// Close frees the client once the calls in flight have returned; calls
// made after Close began, including from a callback of a call in flight,
// fail with ErrInvalidArgument. Calling Close from such a callback waits
// forever.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closing = true
	for c.inFlight > 0 {
		c.idle.Wait()
	}
	if c.c != nil {
		C.registry_client_free(c.c)
		c.c = nil
	}
	return nil
}

// do runs f with the live handle and the C copies of the given (value, name)
// string pairs.
func (c *Client) do(f func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status, pairs ...string) error {
	s, free, err := cstrings(pairs...)
	if err != nil {
		return err
	}
	defer free()
	h, err := c.acquire()
	if err != nil {
		return err
	}
	defer c.release()
	var e *C.registry_error
	return takeError(f(h, s, &e), e)
}

// doString is do for calls that return a string through a char** out-param.
func (c *Client) doString(f func(h *C.registry_client, s []*C.char, out **C.char, e **C.registry_error) C.registry_status, pairs ...string) (string, error) {
	var result string
	err := c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		var out *C.char
		st := f(h, s, &out, e)
		if st == C.REGISTRY_STATUS_OK {
			result = takeString(out)
		}
		return st
	}, pairs...)
	return result, err
}

// Ping checks that the registry answers and accepts the credentials.
func (c *Client) Ping() (API, error) {
	var api C.uint32_t
	err := c.do(func(h *C.registry_client, _ []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_ping(h, &api, e)
	})
	return API(api), err
}

// Tags lists the tags of repo, sorted.
func (c *Client) Tags(repo string) ([]string, error) {
	return c.doList(func(h *C.registry_client, s []*C.char, out **C.registry_list, e **C.registry_error) C.registry_status {
		return C.registry_tags(h, s[0], out, e)
	}, repo, "repo")
}

// doList is do for calls that return a registry_list: it is copied and freed.
func (c *Client) doList(f func(h *C.registry_client, s []*C.char, out **C.registry_list, e **C.registry_error) C.registry_status, pairs ...string) ([]string, error) {
	var result []string
	err := c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		var list *C.registry_list
		st := f(h, s, &list, e)
		if st == C.REGISTRY_STATUS_OK {
			defer C.registry_list_free(list)
			n := C.registry_list_len(list)
			result = make([]string, 0, int(n))
			for i := C.size_t(0); i < n; i++ {
				result = append(result, C.GoString(C.registry_list_get(list, i)))
			}
		}
		return st
	}, pairs...)
	return result, err
}

// V1ImageJSON is the JSON of v1 image imageID as the registry keeps it (v1
// only). Behind an index, the client presents the token of its latest read,
// whichever repository that is for; V1RepoImageJSON names the repository.
func (c *Client) V1ImageJSON(imageID string) ([]byte, error) {
	return c.V1RepoImageJSON("", imageID)
}

// V1RepoImageJSON is V1ImageJSON presenting the token of repo ("" as
// V1ImageJSON).
func (c *Client) V1RepoImageJSON(repo, imageID string) ([]byte, error) {
	r, err := optionalCString(repo, "repo")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(r))
	var out []byte
	err = c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		var buf *C.registry_buf
		var st C.registry_status
		if r == nil {
			st = C.registry_v1_image_json(h, s[0], &buf, e)
		} else {
			st = C.registry_v1_repo_image_json(h, r, s[0], &buf, e)
		}
		if st == C.REGISTRY_STATUS_OK {
			out = takeBuf(buf)
		}
		return st
	}, imageID, "image id")
	return out, err
}

// V1ImageJSONPut stores the JSON of v1 image imageID, the first step of
// pushing it (v1 only); then PutLayer with imageID and SetTag. Behind an
// index, call HubToken(repo, AccessWrite) first, or use V1RepoImageJSONPut.
func (c *Client) V1ImageJSONPut(imageID, json string) error {
	return c.V1RepoImageJSONPut("", imageID, json)
}

// V1RepoImageJSONPut is V1ImageJSONPut presenting the write token of repo
// ("" as V1ImageJSONPut).
func (c *Client) V1RepoImageJSONPut(repo, imageID, json string) error {
	r, err := optionalCString(repo, "repo")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(r))
	return c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		if r == nil {
			return C.registry_v1_image_json_put(h, s[0], s[1], e)
		}
		return C.registry_v1_repo_image_json_put(h, r, s[0], s[1], e)
	}, imageID, "image id", json, "json")
}

// V1Ancestry is imageID, its parent, and so on down to the base image (v1
// only; the token as for V1ImageJSON).
func (c *Client) V1Ancestry(imageID string) ([]string, error) {
	return c.V1RepoAncestry("", imageID)
}

// V1RepoAncestry is V1Ancestry presenting the token of repo ("" as V1Ancestry).
func (c *Client) V1RepoAncestry(repo, imageID string) ([]string, error) {
	r, err := optionalCString(repo, "repo")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(r))
	return c.doList(func(h *C.registry_client, s []*C.char, out **C.registry_list, e **C.registry_error) C.registry_status {
		if r == nil {
			return C.registry_v1_ancestry(h, s[0], out, e)
		}
		return C.registry_v1_repo_ancestry(h, r, s[0], out, e)
	}, imageID, "image id")
}

// takeString converts and frees a string from the library.
func takeString(p *C.char) string {
	defer C.registry_string_free(p)
	return C.GoString(p)
}

// takeBuf copies and frees a registry_buf.
func takeBuf(b *C.registry_buf) []byte {
	defer C.registry_buf_free(b)
	return C.GoBytes(unsafe.Pointer(C.registry_buf_data(b)), C.int(C.registry_buf_len(b)))
}

// ImageID is the image id of repo:tag (v2: the config digest; v1: the image
// id the tag names).
func (c *Client) ImageID(repo, tag string) (string, error) {
	return c.doString(func(h *C.registry_client, s []*C.char, out **C.char, e **C.registry_error) C.registry_status {
		return C.registry_image_id(h, s[0], s[1], out, e)
	}, repo, "repo", tag, "tag")
}

// LayerExists reports whether the layer (v2: a blob digest; v1: an image id)
// is in repo.
func (c *Client) LayerExists(repo, digest string) (bool, error) {
	var ok C.bool
	err := c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_layer_exists(h, s[0], s[1], &ok, e)
	}, repo, "repo", digest, "digest")
	return bool(ok), err
}

// LayerToFile downloads a layer to path; nothing is left at path on failure.
func (c *Client) LayerToFile(repo, digest, path string) error {
	return c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_layer_get_file(h, s[0], s[1], s[2], e)
	}, repo, "repo", digest, "digest", path, "path")
}

// Manifest is a manifest as the registry stored it.
type Manifest struct {
	Body      []byte
	MediaType string
	Digest    string
}

// Manifest fetches a manifest by tag or digest (v2).
func (c *Client) Manifest(repo, reference string) (*Manifest, error) {
	var m *Manifest
	err := c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		var body *C.registry_buf
		var media, digest *C.char
		st := C.registry_manifest_get(h, s[0], s[1], &body, &media, &digest, e)
		m = takeManifest(st, body, media, digest)
		return st
	}, repo, "repo", reference, "reference")
	return m, err
}

// ManifestForPlatform is Manifest for platform's image ("os/arch" or
// "os/arch/variant"; "" or a malformed one is ErrInvalidArgument): when
// reference names an index, the manifest of its entry for the platform,
// through nested indexes (ErrNotFound when there is none); the manifest
// itself when it is not an index.
func (c *Client) ManifestForPlatform(repo, reference, platform string) (*Manifest, error) {
	var m *Manifest
	err := c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		var body *C.registry_buf
		var media, digest *C.char
		st := C.registry_manifest_get_for_platform(h, s[0], s[1], s[2], &body, &media, &digest, e)
		m = takeManifest(st, body, media, digest)
		return st
	}, repo, "repo", reference, "reference", platform, "platform")
	return m, err
}

// takeManifest takes what a manifest call returned with status st (nil
// unless OK).
func takeManifest(st C.registry_status, body *C.registry_buf, media, digest *C.char) *Manifest {
	if st != C.REGISTRY_STATUS_OK {
		return nil
	}
	return &Manifest{Body: takeBuf(body), MediaType: takeString(media), Digest: takeString(digest)}
}

// Access is the access a token grants (HubToken).
type Access uint32

// Access values, as in registry.h.
const (
	AccessRead   Access = C.REGISTRY_ACCESS_READ
	AccessWrite  Access = C.REGISTRY_ACCESS_WRITE
	AccessDelete Access = C.REGISTRY_ACCESS_DELETE
)

// optionalCString is NULL for "", else a copy the caller frees.
func optionalCString(s, name string) (*C.char, error) {
	if s == "" {
		return nil, nil
	}
	return cstring(s, name)
}

// PutLayer uploads a layer read from r and returns its digest. With expected
// (a digest; "" for none), a blob already there is not sent again and other
// bytes fail with ErrDigestMismatch, nothing committed. An error from r other
// than io.EOF (also one returned together with bytes) aborts the upload with
// nothing committed; it comes back as an ErrAborted error that unwraps to r's
// own error. A panic in r aborts the upload the same way, then PutLayer
// panics with the same value. r is read on the calling goroutine, only
// during the call, and never after PutLayer returns. v1: expected is
// the id of the image whose JSON was put first (V1ImageJSONPut), and the
// image checksum is returned.
func (c *Client) PutLayer(repo string, r io.Reader, expected string) (string, error) {
	exp, err := optionalCString(expected, "expected")
	if err != nil {
		return "", err
	}
	defer C.free(unsafe.Pointer(exp))
	u := &upload{r: r}
	h := cgo.NewHandle(u)
	defer h.Delete()
	// The handle travels in C memory: C code must not keep Go pointers.
	hp := (*cgo.Handle)(C.malloc(C.size_t(unsafe.Sizeof(h))))
	defer C.free(unsafe.Pointer(hp))
	*hp = h
	digest, err := c.doString(func(cl *C.registry_client, s []*C.char, out **C.char, e **C.registry_error) C.registry_status {
		return C.registry_layer_put(cl, s[0], exp, C.registry_read_fn(C.registryGoRead), unsafe.Pointer(hp), out, e)
	}, repo, "repo")
	if u.panicked {
		panic(u.panicVal) // the reader's own panic, now that no C frame is in the way
	}
	if err != nil && u.err != nil {
		return "", &Error{Status: StatusAborted, Message: "reading the layer: " + u.err.Error(), cause: u.err}
	}
	return digest, err
}

// PutLayerFile uploads the file at path; see PutLayer.
func (c *Client) PutLayerFile(repo, path, expected string) (string, error) {
	exp, err := optionalCString(expected, "expected")
	if err != nil {
		return "", err
	}
	defer C.free(unsafe.Pointer(exp))
	return c.doString(func(cl *C.registry_client, s []*C.char, out **C.char, e **C.registry_error) C.registry_status {
		return C.registry_layer_put_file(cl, s[0], exp, s[1], out, e)
	}, repo, "repo", path, "path")
}

// MountBlob mounts digest from repository from into repo; false when the
// registry could not (upload the blob instead).
func (c *Client) MountBlob(repo, digest, from string) (bool, error) {
	var ok C.bool
	err := c.do(func(cl *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_blob_mount(cl, s[0], s[1], s[2], &ok, e)
	}, repo, "repo", digest, "digest", from, "from")
	return bool(ok), err
}

// PutManifest stores body byte for byte under reference (a tag or its own
// digest) and returns its digest.
func (c *Client) PutManifest(repo, reference, mediaType string, body []byte) (string, error) {
	return c.doString(func(cl *C.registry_client, s []*C.char, out **C.char, e **C.registry_error) C.registry_status {
		var ptr *C.uint8_t
		if len(body) > 0 {
			ptr = (*C.uint8_t)(unsafe.Pointer(&body[0]))
		}
		return C.registry_manifest_put(cl, s[0], s[1], s[2], ptr, C.size_t(len(body)), out, e)
	}, repo, "repo", reference, "reference", mediaType, "media type")
}

// DeleteManifest deletes a manifest by digest (and every tag on it).
func (c *Client) DeleteManifest(repo, digest string) error {
	return c.do(func(cl *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_manifest_delete(cl, s[0], s[1], e)
	}, repo, "repo", digest, "digest")
}

// SetTag points tag at image (v2: a tag or a digest; v1: an image id).
func (c *Client) SetTag(repo, image, tag string) error {
	return c.do(func(cl *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_set_tag(cl, s[0], s[1], s[2], e)
	}, repo, "repo", image, "image", tag, "tag")
}

// DeleteTag removes tag and nothing else.
func (c *Client) DeleteTag(repo, tag string) error {
	return c.do(func(cl *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_delete_tag(cl, s[0], s[1], e)
	}, repo, "repo", tag, "tag")
}

// HubToken is the token the registry grants for access to repo (v1: a fresh
// index token, also used by the client's next calls with that access).
func (c *Client) HubToken(repo string, access Access) (string, error) {
	return c.Token(repo, access)
}

// Token is the token for access to repo from any registry that uses token
// auth (registry_token; HubToken is its first name, kept for callers).
func (c *Client) Token(repo string, access Access) (string, error) {
	return c.doString(func(cl *C.registry_client, s []*C.char, out **C.char, e **C.registry_error) C.registry_status {
		return C.registry_token(cl, s[0], C.uint32_t(access), out, e)
	}, repo, "repo")
}

// SearchResult is one repository found by Search.
type SearchResult struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	StarCount   int    `json:"star_count"`
	IsOfficial  bool   `json:"is_official"`
	IsAutomated bool   `json:"is_automated"`
	IsTrusted   bool   `json:"is_trusted"`
}

// SearchResults is the answer of Search and SearchPage, Docker Hub's shape.
// Search: NumResults results, as page 1 of 1 (PageSize = NumResults).
// SearchPage: NumResults counts the matches of all pages.
type SearchResults struct {
	Query      string         `json:"query"`
	NumResults int            `json:"num_results"`
	NumPages   int            `json:"num_pages"`
	PageSize   int            `json:"page_size"`
	Page       int            `json:"page"`
	Results    []SearchResult `json:"results"`
}

// SearchPage is page (from 1) of a search for term, limit results a page
// (0 = 25, Docker Hub's default; more than 100 asks for 100), as the Hub
// pages it. v1: the registry's own search; v2: the catalog filtered as in
// Search, cut into pages in catalog order (a page past the last is empty).
func (c *Client) SearchPage(term string, page, limit int) (*SearchResults, error) {
	if limit < 0 || limit > int(^uint32(0)) || page < 0 || page > int(^uint32(0)) {
		return nil, &Error{Status: StatusInvalidArgument, Message: "page or limit out of range"}
	}
	var raw []byte
	err := c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		var out *C.registry_buf
		st := C.registry_search_page(h, s[0], C.uint32_t(page), C.uint32_t(limit), &out, e)
		if st == C.REGISTRY_STATUS_OK {
			raw = takeBuf(out)
		}
		return st
	}, term, "term")
	if err != nil {
		return nil, err
	}
	var r SearchResults
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, &Error{Status: StatusProtocol, Message: "search JSON: " + err.Error()}
	}
	return &r, nil
}

// Search finds repositories whose name contains term (at most limit; 0 = all).
func (c *Client) Search(term string, limit int) (*SearchResults, error) {
	if limit < 0 || limit > int(^uint32(0)) {
		return nil, &Error{Status: StatusInvalidArgument, Message: "limit out of range"}
	}
	var raw []byte
	err := c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		var out *C.registry_buf
		st := C.registry_search(h, s[0], C.uint32_t(limit), &out, e)
		if st == C.REGISTRY_STATUS_OK {
			raw = takeBuf(out)
		}
		return st
	}, term, "term")
	if err != nil {
		return nil, err
	}
	var r SearchResults
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, &Error{Status: StatusProtocol, Message: "search JSON: " + err.Error()}
	}
	return &r, nil
}

// LayerReader streams a layer; Read returns the digest error instead of
// io.EOF when the bytes do not match. It does not borrow the client: it may be
// read after the client is closed.
type LayerReader struct {
	mu sync.Mutex
	r  *C.registry_reader
}

// OpenLayer opens a layer for streaming. Close the reader when done.
func (c *Client) OpenLayer(repo, digest string) (*LayerReader, error) {
	var r *C.registry_reader
	err := c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_layer_open(h, s[0], s[1], &r, e)
	}, repo, "repo", digest, "digest")
	if err != nil {
		return nil, err
	}
	lr := &LayerReader{r: r}
	runtime.SetFinalizer(lr, (*LayerReader).Close)
	return lr, nil
}

// Verified reports whether the whole layer was read and its bytes hashed to
// its digest (v1: the image checksum). False before io.EOF, and for a v1
// layer whose registry keeps no checksum, so that nothing could be checked.
func (l *LayerReader) Verified() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r != nil && bool(C.registry_reader_verified(l.r))
}

// Read reads the next bytes of the layer.
func (l *LayerReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.r == nil {
		return 0, &Error{Status: StatusInvalidArgument, Message: "the reader is closed"}
	}
	var n C.size_t
	var e *C.registry_error
	st := C.registry_reader_read(l.r, (*C.uint8_t)(unsafe.Pointer(&p[0])), C.size_t(len(p)), &n, &e)
	if err := takeError(st, e); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, io.EOF
	}
	return int(n), nil
}

// Close frees the reader; it may be called more than once.
func (l *LayerReader) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	C.registry_reader_free(l.r)
	l.r = nil
	return nil
}
