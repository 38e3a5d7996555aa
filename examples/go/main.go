// List a repository's tags, read an image id, and download the first layer to
// a file with its digest checked.
//
//	make install    # or, in this checkout: make build && export PKG_CONFIG_PATH=$PWD/target/pkgconfig
//	cd examples/go && go run . localhost:5000 team/app v1
package main

import (
	"encoding/json"
	"fmt"
	"os"

	registry "github.com/registry-dev/registry/bindings/go"
)

func main() {
	args := append(os.Args[1:], "localhost:5000", "library/alpine", "latest")[:3]
	addr, repo, tag := args[0], args[1], args[2]
	if err := run(addr, repo, tag); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(addr, repo, tag string) error {
	// Credentials, if any, come from docker's config.json ($DOCKER_CONFIG or
	// ~/.docker), as without any option; WithDockerConfig(path) names another.
	c, err := registry.NewClient(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	tags, err := c.Tags(repo)
	if err != nil {
		return err
	}
	fmt.Printf("tags of %s: %v\n", repo, tags)
	id, err := c.ImageID(repo, tag)
	if err != nil {
		return err
	}
	fmt.Printf("image id of %s:%s: %s\n", repo, tag, id)
	m, err := c.Manifest(repo, tag)
	if err != nil {
		return err
	}
	var doc struct {
		Layers []struct{ Digest string } `json:"layers"`
	}
	if err := json.Unmarshal(m.Body, &doc); err != nil || len(doc.Layers) == 0 {
		return fmt.Errorf("the manifest names no layer")
	}
	path := fmt.Sprintf("%s/registry-demo-%d.tar.gz", os.TempDir(), os.Getpid())
	if err := c.LayerToFile(repo, doc.Layers[0].Digest, path); err != nil {
		return err
	}
	defer os.Remove(path)
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Printf("layer %s: %d bytes in %s, digest checked\n", doc.Layers[0].Digest, st.Size(), path)
	return nil
}
