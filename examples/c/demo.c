/*
 * demo.c: ping a registry, list a repository's tags, read an image id,
 * download the image's first layer with its digest checked, then push a layer,
 * copy the image into demo/copy, retag it and untag it.
 *
 *   cc -Iinclude examples/c/demo.c target/release/libregistry.a \
 *      -lc -lm -lrt -lpthread -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o demo
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

/* Upload source: a string in memory. */
struct source {
    const char *text;
    size_t pos;
};

static int32_t read_text(void *userdata, uint8_t *buf, size_t cap, size_t *out_n) {
    struct source *s = userdata;
    size_t left = strlen(s->text) - s->pos, n = left < cap ? left : cap;
    memcpy(buf, s->text + s->pos, n);
    s->pos += n;
    *out_n = n;
    return 0;
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
    registry_buf *manifest = NULL;
    char *id = NULL, *media = NULL, *layer, *pushed = NULL, *config = NULL;
    uint32_t api = 0;
    bool mounted = false;
    struct source src = {"a small layer pushed by the demo\n", 0};
    char path[] = "/tmp/registry-demo-layer.tar.gz";

    printf("registry %s\n", registry_version());
    if (registry_client_builder_new(addr, &b, &err)) die("builder", err);
    if (registry_client_builder_docker_config(b, NULL, &err)) die("docker config", err);
    if (registry_client_builder_build(b, &c, &err)) die("build", err);

    if (registry_ping(c, &api, &err)) die("ping", err);
    printf("ping %s: speaks v%u\n", addr, api);

    print_tags(c, repo);

    if (registry_image_id(c, repo, tag, &id, &err)) die("image id", err);
    printf("image id of %s:%s: %s\n", repo, tag, id);
    config = id;

    if (registry_manifest_get(c, repo, tag, &manifest, &media, NULL, &err)) die("manifest", err);
    printf("manifest: %zu bytes of %s\n", registry_buf_len(manifest), media);
    layer = first_layer(manifest);
    if (!layer) {
        fprintf(stderr, "the manifest names no layer (an index? pick a platform first)\n");
        return 1;
    }
    if (registry_layer_get_file(c, repo, layer, path, &err)) die("layer download", err);
    printf("layer %s: saved to %s, digest checked\n", layer, path);
    remove(path);

    /* Writes: push a layer, copy the image to demo/copy, retag, untag. */
    if (registry_layer_put(c, "demo/copy", NULL, read_text, &src, &pushed, &err)) die("push", err);
    printf("pushed a %zu-byte layer to demo/copy: %s\n", strlen(src.text), pushed);
    if (registry_blob_mount(c, "demo/copy", layer, repo, &mounted, &err)) die("mount", err);
    if (registry_blob_mount(c, "demo/copy", config, repo, &mounted, &err)) die("mount", err);
    if (registry_manifest_put(c, "demo/copy", "v1", media, registry_buf_data(manifest), registry_buf_len(manifest),
                              NULL, &err))
        die("manifest put", err);
    printf("copied %s:%s to demo/copy:v1 (blobs mounted, manifest byte for byte)\n", repo, tag);
    if (registry_set_tag(c, "demo/copy", "v1", "stable", &err)) die("set tag", err);
    printf("tagged demo/copy:v1 as stable\n");
    print_tags(c, "demo/copy");
    if (registry_delete_tag(c, "demo/copy", "v1", &err)) die("delete tag", err);
    printf("untagged demo/copy:v1; stable still points at the image\n");
    print_tags(c, "demo/copy");

    registry_string_free(media);
    registry_string_free(pushed);
    registry_string_free(config);
    registry_buf_free(manifest);
    free(layer);
    registry_client_free(c);
    return 0;
}
