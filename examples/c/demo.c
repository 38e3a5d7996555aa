/*
 * demo.c: ping a registry, list a repository's tags, read an image id, and
 * download the image's first layer with its digest checked.
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
    registry_list *tags = NULL;
    registry_buf *manifest = NULL;
    char *id = NULL, *media = NULL, *layer;
    uint32_t api = 0;
    size_t i;
    char path[] = "/tmp/registry-demo-layer.tar.gz";

    printf("registry %s\n", registry_version());
    if (registry_client_builder_new(addr, &b, &err)) die("builder", err);
    if (registry_client_builder_docker_config(b, NULL, &err)) die("docker config", err);
    if (registry_client_builder_build(b, &c, &err)) die("build", err);

    if (registry_ping(c, &api, &err)) die("ping", err);
    printf("ping %s: speaks v%u\n", addr, api);

    if (registry_tags(c, repo, &tags, &err)) die("tags", err);
    printf("tags of %s:", repo);
    for (i = 0; i < registry_list_len(tags); i++) printf(" %s", registry_list_get(tags, i));
    printf("\n");
    registry_list_free(tags);

    if (registry_image_id(c, repo, tag, &id, &err)) die("image id", err);
    printf("image id of %s:%s: %s\n", repo, tag, id);
    registry_string_free(id);

    if (registry_manifest_get(c, repo, tag, &manifest, &media, NULL, &err)) die("manifest", err);
    printf("manifest: %zu bytes of %s\n", registry_buf_len(manifest), media);
    registry_string_free(media);
    layer = first_layer(manifest);
    registry_buf_free(manifest);
    if (!layer) {
        fprintf(stderr, "the manifest names no layer (an index? pick a platform first)\n");
        return 1;
    }
    if (registry_layer_get_file(c, repo, layer, path, &err)) die("layer download", err);
    printf("layer %s: saved to %s, digest checked\n", layer, path);
    free(layer);
    remove(path);
    registry_client_free(c);
    return 0;
}
