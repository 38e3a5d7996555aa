/*
 * demo.c: ping a registry, list a repository's tags, read an image's digest
 * and config, copy the whole image into demo/copy and pull it into an OCI
 * layout (with a progress line per blob), push that layout back under
 * another tag, download one layer, then retag and untag.
 *
 *   cc $(pkg-config --cflags registry) examples/c/demo.c \
 *      $(pkg-config --libs registry) -o demo        (or see the README)
 *   ./demo localhost:5000 team/app v1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

/* Prints the error, frees it and exits. */
static void die(const char *step, registry_error *err) {
    const char *code = registry_error_code(err);
    fprintf(stderr, "%s failed: %s [%s%s%s]\n", step, registry_error_message(err),
            registry_status_name(registry_error_status(err)), code ? ", " : "", code ? code : "");
    registry_error_free(err);
    exit(1);
}

/* A progress line per blob and manifest: its short digest, when it starts and ends. */
static int32_t progress(void *userdata, const char *digest, uint64_t done, uint64_t total) {
    const char *verb = userdata;
    if (done == 0) printf("  %s %.12s: %llu bytes\n", verb, digest + 7, (unsigned long long)total);
    return 0; /* go on */
}

static void print_tags(registry_client *c, const char *repo) {
    registry_list *tags = NULL;
    registry_error *err = NULL;
    size_t i;
    if (registry_tags(c, repo, &tags, &err)) die("tags", err);
    printf("tags of %s:", repo);
    for (i = 0; i < registry_list_len(tags); i++) printf(" %s", registry_list_get(tags, i));
    printf("\n");
    registry_list_free(tags);
}

/* The first "digest" after "layers" in a manifest (enough for a demo). */
static char *first_layer(const registry_buf *manifest) {
    size_t len = registry_buf_len(manifest);
    char *text = malloc(len + 1), *p, *end, *out = NULL;
    memcpy(text, registry_buf_data(manifest), len);
    text[len] = 0;
    if ((p = strstr(text, "\"layers\"")) && (p = strstr(p, "\"digest\"")) &&
        (p = strchr(p + 8, '"')) && (end = strchr(p + 1, '"'))) {
        *end = 0;
        out = strdup(p + 1);
    }
    free(text);
    return out;
}

int main(int argc, char **argv) {
    const char *addr = argc > 1 ? argv[1] : "localhost:5000";
    const char *repo = argc > 2 ? argv[2] : "library/alpine";
    const char *tag = argc > 3 ? argv[3] : "latest";
    registry_client_builder *b = NULL;
    registry_client *c = NULL;
    registry_error *err = NULL;
    registry_buf *manifest = NULL, *config = NULL;
    char *digest = NULL, *media = NULL, *copied = NULL, *pulled = NULL, *pushed = NULL, *layer;
    uint64_t size = 0;
    uint32_t api = 0;
    char layout[] = "/tmp/registry-demo-layout-XXXXXX", path[256], cmd[300];

    printf("registry %s\n", registry_version());
    if (registry_client_builder_new(addr, &b, &err)) die("builder", err);
    if (registry_client_builder_docker_config(b, NULL, &err)) die("docker config", err);
    if (registry_client_builder_parallel(b, 4, &err)) die("parallel", err);
    if (registry_client_builder_build(b, &c, &err)) die("build", err);

    if (registry_ping(c, &api, &err)) die("ping", err);
    printf("ping %s: speaks v%u\n", addr, api);
    print_tags(c, repo);

    if (registry_manifest_head(c, repo, tag, &digest, &media, &size, &err)) die("manifest head", err);
    printf("%s:%s is %s (%llu bytes of %s)\n", repo, tag, digest, (unsigned long long)size, media);
    if (registry_image_config(c, repo, tag, NULL, &config, &err)) die("config", err);
    printf("its config: %zu bytes of JSON\n", registry_buf_len(config));

    /* The whole image, copied within the registry: blobs are mounted, not moved. */
    if (registry_image_copy(c, repo, tag, c, "demo/copy", "v1", NULL, progress, "copied", &copied, &err))
        die("copy", err);
    printf("copied %s:%s to demo/copy:v1 as %s\n", repo, tag, copied);

    /* Pulled into an OCI image layout that skopeo, crane or podman can read. */
    if (!mkdtemp(layout)) return 1;
    if (registry_image_pull(c, "demo/copy", "v1", NULL, layout, progress, "pulled", &pulled, &err)) die("pull", err);
    printf("pulled demo/copy:v1 into %s (named v1 in its index.json): %s\n", layout, pulled);

    /* And pushed back from the layout under another tag. */
    if (registry_image_push(c, layout, "v1", "demo/copy", "from-layout", progress, "pushed", &pushed, &err))
        die("push", err);
    printf("pushed the layout to demo/copy:from-layout: %s\n", pushed);

    /* One layer, downloaded to a file that appears only once its digest checked out. */
    if (registry_manifest_get(c, repo, tag, &manifest, NULL, NULL, &err)) die("manifest", err);
    layer = first_layer(manifest);
    if (layer) {
        snprintf(path, sizeof path, "%s/layer.tar.gz", layout);
        if (registry_layer_get_file(c, repo, layer, path, &err)) die("layer download", err);
        printf("layer %.19s...: saved to %s, digest checked\n", layer, path);
    }

    if (registry_set_tag(c, "demo/copy", "v1", "stable", &err)) die("set tag", err);
    printf("tagged demo/copy:v1 as stable\n");
    print_tags(c, "demo/copy");
    if (registry_delete_tag(c, "demo/copy", "v1", &err)) die("delete tag", err);
    printf("untagged demo/copy:v1; stable still points at the image\n");
    print_tags(c, "demo/copy");

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", layout);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", layout);
    free(layer);
    registry_buf_free(manifest);
    registry_buf_free(config);
    registry_string_free(digest);
    registry_string_free(media);
    registry_string_free(copied);
    registry_string_free(pulled);
    registry_string_free(pushed);
    registry_client_free(c);
    return 0;
}
