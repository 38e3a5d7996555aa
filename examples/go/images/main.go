// Whole images with a progress display: pull an image (every platform) into
// an OCI image layout that skopeo, podman or crane can read, push it back
// under another name, and copy it within the registry; the digest stays the
// same all the way. Ctrl-C cancels the transfer under way.
//
//	cargo build --release && cd examples/go && go run ./images localhost:5000 team/app v1
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"

	registry "github.com/registry-dev/registry/bindings/go"
)

func main() {
	args := append(os.Args[1:], "localhost:5000", "library/alpine", "latest")[:3]
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, args[0], args[1], args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// progress shows one line per blob or manifest once it is done; on a
// terminal, also the bytes as they move. (A blob may be reported done more
// than once: the first time counts.)
func progress(step string) registry.ImageOption {
	finished := map[string]bool{}
	st, _ := os.Stdout.Stat()
	tty := st != nil && st.Mode()&os.ModeCharDevice != 0
	return registry.WithProgress(func(digest string, done, total uint64) {
		if finished[digest] {
			return
		}
		finished[digest] = done == total
		line := fmt.Sprintf("%-4s %s %10d / %d bytes", step, strings.TrimPrefix(digest, "sha256:")[:12], done, total)
		switch {
		case tty && finished[digest]:
			fmt.Printf("\r%s\n", line)
		case tty:
			fmt.Printf("\r%s", line)
		case finished[digest]:
			fmt.Println(line)
		}
	})
}

func run(ctx context.Context, addr, repo, tag string) error {
	c, err := registry.NewClient(addr, registry.WithParallel(4))
	if err != nil {
		return err
	}
	defer c.Close()
	dir, err := os.MkdirTemp("", "registry-images")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	digest, err := c.Pull(ctx, repo, tag, dir, progress("pull"))
	if err != nil {
		return err
	}
	fmt.Printf("pulled %s:%s (%s) into %s, name %s\n", repo, tag, digest, dir, tag)

	pushed, err := c.Push(ctx, dir, "examples/go-pushed", tag, progress("push"))
	if err != nil {
		return err
	}
	fmt.Printf("pushed it to examples/go-pushed:%s (%s)\n", tag, pushed)

	copied, err := registry.Copy(ctx, c, repo, tag, c, "examples/go-copied", "", progress("copy"))
	if err != nil {
		return err
	}
	fmt.Printf("copied %s:%s to examples/go-copied:%s (%s)\n", repo, tag, tag, copied)
	if pushed != digest || copied != digest {
		return fmt.Errorf("the digests differ")
	}

	raw, err := c.Config(repo, tag, "")
	if err != nil {
		return err
	}
	var config struct{ OS, Architecture string }
	if err := json.Unmarshal(raw, &config); err != nil {
		return err
	}
	fmt.Printf("config of %s:%s: %s/%s\n", repo, tag, config.OS, config.Architecture)
	return nil
}
