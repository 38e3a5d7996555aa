/*
 * push_resume.c: pushes the OCI layout at LAYOUT to REGISTRY/REPO:TAG with an
 * upload state directory, as a C program that may be killed mid-layer and
 * run again would. ffi-tests/c/push_resume.py kills it with SIGKILL halfway
 * through a 64 MiB layer, runs it again, and checks from the registry's log
 * that the second run resumed the upload.
 *
 *   push_resume REGISTRY LAYOUT REPO TAG STATE_DIR
 *
 * Prints the digest of the manifest pushed on stdout; exits 1 (with the
 * error on stderr) when the push fails, 2 on a usage error.
 * Built with -Wall -Wextra -Wpedantic -Werror by `make c-tests`.
 */
#include <stdio.h>
#include <stdlib.h>

#include "registry.h"

/* Prints the error (and frees it); returns the exit status. */
static int fail(const char *step, registry_error *err) {
    const char *code = err ? registry_error_code(err) : NULL;
    fprintf(stderr, "push_resume: %s failed: %s [%s%s%s]\n", step,
            err ? registry_error_message(err) : "no error",
            registry_status_name(err ? registry_error_status(err) : REGISTRY_STATUS_OK),
            code ? ", " : "", code ? code : "");
    registry_error_free(err);
    return 1;
}

int main(int argc, char **argv) {
    registry_client_builder *b = NULL;
    registry_client *c = NULL;
    registry_error *err = NULL;
    char *digest = NULL;
    int status;

    if (argc != 6) {
        fprintf(stderr, "usage: %s REGISTRY LAYOUT REPO TAG STATE_DIR\n", argv[0]);
        return 2;
    }
    if (registry_client_builder_new(argv[1], &b, &err)) return fail("builder", err);
    /* The directory where each blob's upload session is recorded after
     * every chunk the registry confirmed; a second run finds it there. */
    if (registry_client_builder_upload_state_dir(b, argv[5], &err)) {
        registry_client_builder_free(b);
        return fail("upload_state_dir", err);
    }
    if (registry_client_builder_build(b, &c, &err)) return fail("build", err);
    status = registry_image_push(c, argv[2], NULL, argv[3], argv[4], NULL, NULL, &digest, &err)
                 ? fail("push", err)
                 : 0;
    if (status == 0) printf("%s\n", digest);
    registry_string_free(digest);
    registry_client_free(c);
    return status;
}
