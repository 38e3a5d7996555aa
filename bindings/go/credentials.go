package registry

// Credentials the way imgpkg and binderhub users configure them, and
// clients restricted to one repository.

/*
#include <stdlib.h>
#include "registry.h"
*/
import "C"

import "runtime"

// WithEnvCredentials reads credentials from environment variables, as carvel
// imgpkg reads them: <PREFIX>_HOSTNAME, _USERNAME, _PASSWORD,
// _IDENTITY_TOKEN (a refresh token for the token server) and
// _REGISTRY_TOKEN (a bearer token sent as is) make one entry, the same names
// ending in _<SUFFIX> (_0, _1, …) one entry per suffix. HOSTNAME may be a
// glob such as "*.example.com" (one label per "*"; the port must be equal).
// prefix "" is "REGISTRY"; "IMGPKG_REGISTRY" reads imgpkg's own variables.
// The variables are read when NewClient applies the option (os.Setenv
// before NewClient is seen). Credentials come from WithBasicAuth or
// WithBearerToken first, then the environment, then docker's config.json.
// A prefix other than letters, digits and _, or a malformed HOSTNAME, is
// ErrInvalidArgument; no secret is ever quoted.
func WithEnvCredentials(prefix string) Option {
	if prefix == "" {
		return func(b *C.registry_client_builder) error {
			var e *C.registry_error
			return takeError(C.registry_client_builder_env_credentials(b, nil, &e), e)
		}
	}
	return withStrings(func(b *C.registry_client_builder, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_client_builder_env_credentials(b, s[0], e)
	}, prefix, "prefix")
}

// WithAuthKey looks credentials up in docker's config.json under key instead
// of the registry's host: binderhub's auth_config_url, such as
// "https://index.docker.io/v1/". The credentials found go to this client's
// registry. An empty key is ErrInvalidArgument.
func WithAuthKey(key string) Option {
	return withStrings(func(b *C.registry_client_builder, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_client_builder_auth_key(b, s[0], e)
	}, key, "key")
}

// Restrict returns a client that serves only repo, sharing c's connections,
// token cache and credentials (imgpkg's CloneWithSingleAuth): a call naming
// another repository, and Search, fail with ErrInvalidArgument before
// anything is sent. It sends nothing itself. Close both clients, in any
// order.
func (c *Client) Restrict(repo string) (*Client, error) {
	var out *C.registry_client
	err := c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_client_restrict(h, s[0], &out, e)
	}, repo, "repo")
	if err != nil {
		return nil, err
	}
	r := &Client{c: out}
	r.idle.L = &r.mu
	runtime.SetFinalizer(r, (*Client).Close)
	return r, nil
}
