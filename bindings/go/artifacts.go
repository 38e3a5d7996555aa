package registry

/*
#include <stdlib.h>
#include "registry.h"
*/
import "C"

import (
	"encoding/json"
	"unsafe"
)

// Descriptor is an OCI content descriptor, as referrers lists them.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// Referrers lists the referrers of the manifest digest in repo (manifests
// whose subject it is: signatures, SBOMs, attestations), only those of
// artifactType unless it is "". They come from the registry's referrers API,
// or from its fallback tag where it has none (distribution 2.8).
func (c *Client) Referrers(repo, digest, artifactType string) ([]Descriptor, error) {
	var raw []byte
	err := c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		var t *C.char
		if artifactType != "" {
			t = s[2]
		}
		var out *C.registry_buf
		st := C.registry_referrers(h, s[0], s[1], t, &out, e)
		if st == C.REGISTRY_STATUS_OK {
			raw = takeBuf(out)
		}
		return st
	}, repo, "repo", digest, "digest", artifactType, "artifactType")
	if err != nil {
		return nil, err
	}
	var index struct {
		Manifests []Descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		return nil, &Error{Status: StatusProtocol, Message: "referrers JSON: " + err.Error()}
	}
	return index.Manifests, nil
}

// ArtifactFile is one file of an artifact; MediaType "" is
// application/octet-stream.
type ArtifactFile struct {
	Path      string
	MediaType string
}

// ArtifactPush pushes files as an OCI artifact of artifactType to repo, tagged
// tag ("" for by digest alone), referring to the manifest subject (a digest in
// repo; "" for none), and returns the manifest's digest. Each file's base name
// becomes its title annotation.
func (c *Client) ArtifactPush(repo, tag, artifactType, subject string, files []ArtifactFile) (string, error) {
	pairs := []string{repo, "repo", tag, "tag", artifactType, "artifactType", subject, "subject"}
	for _, f := range files {
		pairs = append(pairs, f.Path, "path", f.MediaType, "mediaType")
	}
	return c.doString(func(h *C.registry_client, s []*C.char, out **C.char, e **C.registry_error) C.registry_status {
		n := len(files)
		slots := 2 * n
		if slots == 0 {
			slots = 1
		}
		arrays := C.malloc(C.size_t(slots) * C.size_t(unsafe.Sizeof(uintptr(0))))
		defer C.free(arrays)
		ptrs := unsafe.Slice((**C.char)(arrays), slots)
		for i, f := range files {
			ptrs[i] = s[4+2*i]
			ptrs[n+i] = nil
			if f.MediaType != "" {
				ptrs[n+i] = s[5+2*i]
			}
		}
		var tagC, subjectC *C.char
		if tag != "" {
			tagC = s[1]
		}
		if subject != "" {
			subjectC = s[3]
		}
		paths := (**C.char)(arrays)
		types := (**C.char)(unsafe.Add(arrays, n*int(unsafe.Sizeof(uintptr(0)))))
		return C.registry_artifact_push(h, s[0], tagC, s[2], subjectC, paths, types, C.size_t(n), out, e)
	}, pairs...)
}
