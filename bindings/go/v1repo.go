package registry

/*
#include "registry.h"
*/
import "C"

import "encoding/json"

// V1Image is one entry of a v1 repository's image list: the image id and,
// once pushed, its checksum ("sha256:…"; "" when the index has none).
type V1Image struct {
	ID       string `json:"id"`
	Checksum string `json:"checksum,omitempty"`
}

// V1RepositoryImages is the image list of v1 repository repo as the index
// keeps it (GET /v1/repositories/<repo>/images, moby's GetRepositoryData;
// v1 only). The read token that comes with it becomes the client's for repo.
func (c *Client) V1RepositoryImages(repo string) ([]V1Image, error) {
	var raw []byte
	err := c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		var out *C.registry_buf
		st := C.registry_v1_repository_images(h, s[0], &out, e)
		if st == C.REGISTRY_STATUS_OK {
			raw = takeBuf(out)
		}
		return st
	}, repo, "repo")
	if err != nil {
		return nil, err
	}
	var list []V1Image
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, &Error{Status: StatusProtocol, Message: "image list JSON: " + err.Error()}
	}
	return list, nil
}

func imageListJSON(images []V1Image) (string, error) {
	if images == nil {
		images = []V1Image{}
	}
	b, err := json.Marshal(images)
	if err != nil {
		return "", &Error{Status: StatusInvalidArgument, Message: "image list: " + err.Error()}
	}
	return string(b), nil
}

// V1RepositoryPut is a v1 push's first step (PUT /v1/repositories/<repo>/
// with the image list, checksums optional; v1 only): it creates the
// repository, and the write token the index hands out becomes the client's.
func (c *Client) V1RepositoryPut(repo string, images []V1Image) error {
	list, err := imageListJSON(images)
	if err != nil {
		return err
	}
	return c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_v1_repository_put(h, s[0], s[1], e)
	}, repo, "repo", list, "images")
}

// V1RepositoryImagesPut is a v1 push's last step (PUT
// /v1/repositories/<repo>/images, moby's PushImageJSONIndex with
// validation; v1 only): the checksums of the images pushed. As moby, entries
// without a checksum are not sent.
func (c *Client) V1RepositoryImagesPut(repo string, images []V1Image) error {
	list, err := imageListJSON(images)
	if err != nil {
		return err
	}
	return c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_v1_repository_images_put(h, s[0], s[1], e)
	}, repo, "repo", list, "images")
}

// V1RepositoryDelete deletes v1 repository repo and all its tags (DELETE
// /v1/repositories/<repo>/; v1 only), behind an index with the delete token
// it hands out.
func (c *Client) V1RepositoryDelete(repo string) error {
	return c.do(func(h *C.registry_client, s []*C.char, e **C.registry_error) C.registry_status {
		return C.registry_v1_repository_delete(h, s[0], e)
	}, repo, "repo")
}
