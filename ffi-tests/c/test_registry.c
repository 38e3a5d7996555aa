/*
 * C tests of registry.h against the real-registry fixtures
 * (ffi-tests/fixtures/registry.py run sets REGISTRY_TEST_*).
 * Built with -Wall -Wextra -Werror; run under valgrind by `make test-c`.
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"

static int passed, failed;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, "\n");                                           \
        }                                                                    \
    } while (0)

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v ? v : "";
}

static char *envf(const char *mode, const char *suffix) {
    static char key[128];
    char upper[16];
    size_t i;
    for (i = 0; mode[i] && i < sizeof upper - 1; i++)
        upper[i] = (char)(mode[i] - 32 * (mode[i] >= 'a' && mode[i] <= 'z'));
    upper[i] = 0;
    snprintf(key, sizeof key, "REGISTRY_TEST_%s_%s", upper, suffix);
    return getenv(key);
}

/* Asserts status `want` and, for failures, a non-empty message; frees *errp
 * and resets it. Takes a pointer so that *errp is read after the call that
 * produced `got` (argument evaluation order is unspecified in C). */
static void expect(registry_status got, registry_error **errp, registry_status want, const char *what) {
    registry_error *err = *errp;
    *errp = NULL;
    CHECK(got == want, "%s: got %s, want %s (%s)", what, registry_status_name(got),
          registry_status_name(want), err ? registry_error_message(err) : "no error");
    if (want == REGISTRY_STATUS_OK) {
        CHECK(err == NULL, "%s: err must be NULL on success", what);
    } else {
        CHECK(err != NULL, "%s: err must be set on failure", what);
        if (err) {
            CHECK(registry_error_status(err) == want, "%s: error status", what);
            CHECK(strlen(registry_error_message(err)) > 0, "%s: empty message", what);
        }
    }
    registry_error_free(err);
}

static registry_client *client_for(const char *mode, const char *user, const char *pass) {
    registry_client_builder *b = NULL;
    registry_client *c = NULL;
    registry_error *err = NULL;
    expect(registry_client_builder_new(envf(mode, "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "builder_new");
    err = NULL;
    if (envf(mode, "CA")) {
        expect(registry_client_builder_ca_file(b, envf(mode, "CA"), &err), &err, REGISTRY_STATUS_OK, "ca_file");
        err = NULL;
    }
    if (user) {
        expect(registry_client_builder_basic_auth(b, user, pass, &err), &err, REGISTRY_STATUS_OK, "basic_auth");
        err = NULL;
    }
    expect(registry_client_builder_timeout_ms(b, 20000, &err), &err, REGISTRY_STATUS_OK, "timeout");
    err = NULL;
    expect(registry_client_builder_user_agent(b, "registry-c-tests", &err), &err, REGISTRY_STATUS_OK, "ua");
    err = NULL;
    expect(registry_client_builder_api(b, REGISTRY_API_AUTO, &err), &err, REGISTRY_STATUS_OK, "api");
    err = NULL;
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build");
    return c;
}

static void test_static_and_null_handling(void) {
    registry_error *err = NULL;
    registry_client_builder *b = NULL;
    registry_client *c = NULL;
    registry_list *list = NULL;
    char *s = NULL;

    CHECK(strlen(registry_version()) > 0, "version");
    CHECK(strcmp(registry_status_name(REGISTRY_STATUS_NOT_FOUND), "NOT_FOUND") == 0, "name");
    CHECK(strcmp(registry_status_name(REGISTRY_STATUS_PANIC), "PANIC") == 0, "name");
    CHECK(strcmp(registry_status_name(99), "UNKNOWN") == 0, "unknown name");
    {
        /* Every code of the status table, by its header constant. */
        static const struct { registry_status code; const char *name; } codes[] = {
            {REGISTRY_STATUS_OK, "OK"}, {REGISTRY_STATUS_NULL_ARGUMENT, "NULL_ARGUMENT"},
            {REGISTRY_STATUS_INVALID_ARGUMENT, "INVALID_ARGUMENT"}, {REGISTRY_STATUS_NETWORK, "NETWORK"},
            {REGISTRY_STATUS_TIMEOUT, "TIMEOUT"}, {REGISTRY_STATUS_TLS, "TLS"},
            {REGISTRY_STATUS_UNAUTHORIZED, "UNAUTHORIZED"}, {REGISTRY_STATUS_FORBIDDEN, "FORBIDDEN"},
            {REGISTRY_STATUS_NOT_FOUND, "NOT_FOUND"}, {REGISTRY_STATUS_UNSUPPORTED, "UNSUPPORTED"},
            {REGISTRY_STATUS_RATE_LIMITED, "RATE_LIMITED"}, {REGISTRY_STATUS_DIGEST_MISMATCH, "DIGEST_MISMATCH"},
            {REGISTRY_STATUS_PROTOCOL, "PROTOCOL"}, {REGISTRY_STATUS_SERVER, "SERVER"}, {REGISTRY_STATUS_IO, "IO"},
            {REGISTRY_STATUS_ABORTED, "ABORTED"}, {REGISTRY_STATUS_TOO_LARGE, "TOO_LARGE"},
            {REGISTRY_STATUS_PANIC, "PANIC"}, {REGISTRY_STATUS_ALREADY_EXISTS, "ALREADY_EXISTS"},
        };
        size_t k;
        for (k = 0; k < sizeof codes / sizeof *codes; k++) {
            CHECK(codes[k].code == k, "%s is %u", codes[k].name, (unsigned)codes[k].code);
            CHECK(strcmp(registry_status_name(codes[k].code), codes[k].name) == 0, "name of %u", (unsigned)k);
        }
        CHECK(strcmp(registry_status_name(REGISTRY_STATUS_ALREADY_EXISTS + 1), "UNKNOWN") == 0, "past the table");
    }

    /* Every free function accepts NULL. */
    registry_error_free(NULL);
    registry_client_builder_free(NULL);
    registry_client_free(NULL);
    registry_list_free(NULL);
    registry_buf_free(NULL);
    registry_reader_free(NULL);
    registry_string_free(NULL);
    /* Accessors accept NULL too. */
    CHECK(registry_error_status(NULL) == REGISTRY_STATUS_OK, "status(NULL)");
    CHECK(registry_error_message(NULL) == NULL, "message(NULL)");
    CHECK(registry_error_code(NULL) == NULL, "code(NULL)");
    CHECK(registry_error_http_status(NULL) == 0, "http(NULL)");
    CHECK(registry_list_len(NULL) == 0 && registry_list_get(NULL, 0) == NULL, "list(NULL)");
    CHECK(registry_buf_len(NULL) == 0 && registry_buf_data(NULL) == NULL, "buf(NULL)");

    expect(registry_client_builder_new(NULL, &b, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "new(NULL)");
    err = NULL;
    CHECK(b == NULL, "out untouched on failure");
    expect(registry_client_builder_new("localhost:1", NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "new(out NULL)");
    CHECK(registry_client_builder_new(NULL, &b, NULL) == REGISTRY_STATUS_NULL_ARGUMENT, "err may be NULL");
    err = NULL;
    expect(registry_client_builder_basic_auth(NULL, "u", "p", &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "basic(NULL)");
    err = NULL;
    expect(registry_client_builder_build(NULL, &c, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "build(NULL)");
    err = NULL;
    expect(registry_tags(NULL, "a", &list, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "tags(NULL)");
    err = NULL;
    expect(registry_image_id(NULL, "a", "b", &s, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "image_id(NULL)");

    /* Bad modes, timeouts, addresses and UTF-8. */
    err = NULL;
    expect(registry_client_builder_new("localhost:5000", &b, &err), &err, REGISTRY_STATUS_OK, "new");
    err = NULL;
    expect(registry_client_builder_api(b, 7, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "api 7");
    err = NULL;
    expect(registry_client_builder_timeout_ms(b, 0, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "timeout 0");
    err = NULL;
    expect(registry_client_builder_unauthorized_is_not_found(b, true, &err), &err, REGISTRY_STATUS_OK, "401 is 404");
    err = NULL;
    expect(registry_client_builder_unauthorized_is_not_found(NULL, true, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT,
           "401 is 404 (NULL)");
    err = NULL;
    expect(registry_client_builder_user_agent(b, "\xff\xfe", &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "ua utf8");
    err = NULL;
    expect(registry_client_builder_ca_file(b, "/nonexistent/ca.pem", &err), &err, REGISTRY_STATUS_OK, "ca_file");
    err = NULL;
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_IO, "build: missing CA file");
    CHECK(c == NULL, "no client on failure");
    err = NULL;
    expect(registry_client_builder_new("ftp://x", &b, &err), &err, REGISTRY_STATUS_OK, "new ftp");
    err = NULL;
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "build ftp");
    err = NULL;
    expect(registry_client_builder_new("localhost:5000", &b, &err), &err, REGISTRY_STATUS_OK, "new");
    registry_client_builder_free(b);
}

static void test_docker_config(const char *mode) {
    char dir[] = "/tmp/registry-c-config-XXXXXX";
    char path[256];
    FILE *f;
    registry_client_builder *b = NULL;
    registry_client *c = NULL;
    registry_list *tags = NULL;
    registry_error *err = NULL;

    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/config.json", dir);
    f = fopen(path, "w");
    /* alice:s3cret-alice, under the host:port key docker writes */
    fprintf(f, "{\"auths\":{\"%s\":{\"auth\":\"YWxpY2U6czNjcmV0LWFsaWNl\"}}}", envf(mode, "ADDR"));
    fclose(f);
    expect(registry_client_builder_new(envf(mode, "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "new");
    err = NULL;
    expect(registry_client_builder_docker_config(b, path, &err), &err, REGISTRY_STATUS_OK, "docker_config");
    err = NULL;
    /* The registry's self-signed certificate, trusted as docker does: certs.d/<host:port>/ca.crt. */
    expect(registry_client_builder_certs_dir(b, envf(mode, "CERTS_DIR"), &err), &err, REGISTRY_STATUS_OK, "certs_dir");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build");
    err = NULL;
    expect(registry_tags(c, "fixtures/app", &tags, &err), &err, REGISTRY_STATUS_OK, "tags via config.json");
    CHECK(registry_list_len(tags) == 2, "two tags");
    registry_list_free(tags);
    registry_client_free(c);

    f = fopen(path, "w");
    fprintf(f, "{ not json");
    fclose(f);
    err = NULL;
    expect(registry_client_builder_new(envf(mode, "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "new");
    err = NULL;
    expect(registry_client_builder_docker_config(b, path, &err), &err, REGISTRY_STATUS_OK, "docker_config");
    err = NULL;
    c = NULL;
    CHECK(registry_client_builder_build(b, &c, &err) == REGISTRY_STATUS_INVALID_ARGUMENT, "malformed config");
    CHECK(err && strstr(registry_error_message(err), path) != NULL, "message names the file");
    registry_error_free(err);
    unlink(path);
    rmdir(dir);
}

/* Environment credentials, the config.json key and restricted clients,
 * against the htpasswd registry. */
static registry_status env_build(const char *prefix, const char *config, const char *key, registry_client **c) {
    registry_client_builder *b = NULL;
    registry_error *err = NULL;
    registry_status st;
    expect(registry_client_builder_new(envf("basic", "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_client_builder_certs_dir(b, envf("basic", "CERTS_DIR"), &err), &err, REGISTRY_STATUS_OK, "certs_dir");
    expect(registry_client_builder_docker_config(b, config, &err), &err, REGISTRY_STATUS_OK, "docker_config");
    if (prefix)
        expect(registry_client_builder_env_credentials(b, prefix, &err), &err, REGISTRY_STATUS_OK, "env_credentials");
    if (key)
        expect(registry_client_builder_auth_key(b, key, &err), &err, REGISTRY_STATUS_OK, "auth_key");
    st = registry_client_builder_build(b, c, &err);
    registry_error_free(err);
    return st;
}

static registry_status tags_status(registry_client *c, const char *repo, const char *secret) {
    registry_list *tags = NULL;
    registry_error *err = NULL;
    registry_status st = registry_tags(c, repo, &tags, &err);
    if (st == REGISTRY_STATUS_OK) {
        CHECK(registry_list_len(tags) >= 1, "%s has tags", repo);
        CHECK(err == NULL, "no error on success");
    } else {
        CHECK(tags == NULL, "out-param untouched on failure");
        CHECK(err && strstr(registry_error_message(err), secret) == NULL, "no secret in: %s",
              err ? registry_error_message(err) : "");
    }
    registry_list_free(tags);
    registry_error_free(err);
    return st;
}

static void test_env_credentials_and_restrict(void) {
    const char *addr = envf("basic", "ADDR");
    const char *port = strrchr(addr, ':') + 1;
    char glob[64], other[64], dir[] = "/tmp/registry-c-authkey-XXXXXX", path[256];
    char user[64], pass[64];
    registry_client *c = NULL, *app = NULL, *again = NULL;
    registry_client_builder *b = NULL;
    registry_error *err = NULL;
    registry_list *tags = NULL;
    registry_buf *json = NULL;
    FILE *f;

    snprintf(user, sizeof user, "%s", envf("basic", "USER"));
    snprintf(pass, sizeof pass, "%s", envf("basic", "PASS"));
    snprintf(glob, sizeof glob, "https://127.0.0.*:%s", port);
    snprintf(other, sizeof other, "127.0.0.*:%d", atoi(port) + 1);

    /* A glob for this host:port: its credentials are used; config.json is off. */
    setenv("CTEST_REG_HOSTNAME_0", glob, 1);
    setenv("CTEST_REG_USERNAME_0", user, 1);
    setenv("CTEST_REG_PASSWORD_0", pass, 1);
    expect(env_build("CTEST_REG", "", NULL, &c), &err, REGISTRY_STATUS_OK, "build with env");
    CHECK(tags_status(c, "fixtures/app", pass) == REGISTRY_STATUS_OK, "env credentials work");
    registry_client_free(c);
    c = NULL;
    /* Read at the call: a later change is not seen, an earlier one is. */
    setenv("CTEST_REG_HOSTNAME_0", other, 1);
    expect(env_build("CTEST_REG", "", NULL, &c), &err, REGISTRY_STATUS_OK, "build, glob for another port");
    CHECK(tags_status(c, "fixtures/app", pass) == REGISTRY_STATUS_UNAUTHORIZED, "other port: nothing sent");
    registry_client_free(c);
    c = NULL;
    /* Without env_credentials the variables are not read. */
    setenv("CTEST_REG_HOSTNAME_0", glob, 1);
    expect(env_build(NULL, "", NULL, &c), &err, REGISTRY_STATUS_OK, "build without env");
    CHECK(tags_status(c, "fixtures/app", pass) == REGISTRY_STATUS_UNAUTHORIZED, "env not asked for");
    registry_client_free(c);
    c = NULL;
    /* A malformed HOSTNAME fails the build; the prefix is checked at once. */
    setenv("CTEST_REG_HOSTNAME_0", "user@host", 1);
    CHECK(env_build("CTEST_REG", "", NULL, &c) == REGISTRY_STATUS_INVALID_ARGUMENT, "malformed HOSTNAME");
    CHECK(c == NULL, "no client");
    unsetenv("CTEST_REG_HOSTNAME_0");
    unsetenv("CTEST_REG_USERNAME_0");
    unsetenv("CTEST_REG_PASSWORD_0");
    expect(registry_client_builder_new(addr, &b, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_client_builder_env_credentials(b, "A-B", &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT,
           "bad prefix");
    expect(registry_client_builder_env_credentials(NULL, NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT,
           "NULL builder");
    expect(registry_client_builder_env_credentials(b, NULL, &err), &err, REGISTRY_STATUS_OK, "default prefix");
    expect(registry_client_builder_auth_key(b, NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL key");
    expect(registry_client_builder_auth_key(b, "", &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "empty key");
    registry_client_builder_free(b);

    /* auth_key: the entry under binderhub's auth_config_url, not the host's. */
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/config.json", dir);
    f = fopen(path, "w");
    fprintf(f, "{\"auths\":{\"https://build.example/v1/\":{\"username\":\"%s\",\"password\":\"%s\"},"
               "\"%s\":{\"username\":\"nobody\",\"password\":\"wrong-pw\"}}}", user, pass, addr);
    fclose(f);
    expect(env_build(NULL, path, NULL, &c), &err, REGISTRY_STATUS_OK, "build by host key");
    CHECK(tags_status(c, "fixtures/app", "wrong-pw") == REGISTRY_STATUS_UNAUTHORIZED, "host key: wrong entry");
    registry_client_free(c);
    c = NULL;
    expect(env_build(NULL, path, "https://build.example/v1/", &c), &err, REGISTRY_STATUS_OK, "build by auth_key");
    CHECK(tags_status(c, "fixtures/app", pass) == REGISTRY_STATUS_OK, "auth_key entry works");

    /* restrict: its repository works, any other fails before sending. */
    expect(registry_client_restrict(c, "fixtures/app", &app, &err), &err, REGISTRY_STATUS_OK, "restrict");
    CHECK(tags_status(app, "fixtures/app", pass) == REGISTRY_STATUS_OK, "own repository");
    CHECK(tags_status(app, "fixtures/oci", pass) == REGISTRY_STATUS_INVALID_ARGUMENT, "other repository");
    expect(registry_search(app, "fixtures", 10, &json, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT,
           "search on a restricted client");
    CHECK(json == NULL, "json untouched");
    expect(registry_client_restrict(app, "fixtures/oci", &again, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT,
           "restrict elsewhere");
    CHECK(again == NULL, "out untouched");
    expect(registry_client_restrict(c, "Bad Name", &again, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT,
           "bad name");
    expect(registry_client_restrict(NULL, "fixtures/app", &again, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT,
           "NULL client");
    expect(registry_client_restrict(c, "fixtures/app", NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT,
           "NULL out");
    /* The parent goes first: the restricted client lives on. */
    registry_client_free(c);
    expect(registry_tags(app, "fixtures/app", &tags, &err), &err, REGISTRY_STATUS_OK, "after the parent's free");
    registry_list_free(tags);
    registry_client_free(app);
    unlink(path);
    rmdir(dir);
}

static char *buf_string(registry_buf *buf);

static void test_read_flows(const char *mode) {
    registry_client *c = client_for(mode, envf(mode, "USER"), envf(mode, "PASS"));
    registry_error *err = NULL;
    registry_list *tags = NULL;
    registry_buf *buf = NULL;
    registry_reader *r = NULL;
    char *id = NULL, *media = NULL, *digest = NULL;
    uint32_t api = 0;
    bool exists = false;
    const char *layer = env("REGISTRY_TEST_LAYER_DIGEST");
    const char *missing = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    long size = atol(env("REGISTRY_TEST_LAYER_SIZE"));
    char path[256];
    struct stat st;

    fprintf(stderr, "# C read flows, %s mode\n", mode);
    expect(registry_ping(c, &api, &err), &err, REGISTRY_STATUS_OK, "ping");
    CHECK(api == REGISTRY_API_V2, "api %u", api);

    err = NULL;
    expect(registry_tags(c, "fixtures/app", &tags, &err), &err, REGISTRY_STATUS_OK, "tags");
    CHECK(registry_list_len(tags) == 2, "len %zu", registry_list_len(tags));
    CHECK(strcmp(registry_list_get(tags, 0), "v1") == 0 && strcmp(registry_list_get(tags, 1), "v2") == 0, "tags");
    CHECK(registry_list_get(tags, 2) == NULL, "NULL past the end");
    registry_list_free(tags);

    err = NULL;
    tags = NULL;
    CHECK(registry_tags(c, "fixtures/missing", &tags, &err) == REGISTRY_STATUS_NOT_FOUND, "missing repo");
    CHECK(tags == NULL, "out untouched");
    CHECK(err && registry_error_http_status(err) == 404, "http 404");
    CHECK(err && registry_error_code(err) && strcmp(registry_error_code(err), "NAME_UNKNOWN") == 0, "code");
    registry_error_free(err);
    err = NULL;
    expect(registry_tags(c, "Bad/Name", &tags, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "bad name");
    err = NULL;
    expect(registry_tags(c, "\xc3\x28", &tags, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "bad utf-8");

    err = NULL;
    expect(registry_image_id(c, "fixtures/app", "v1", &id, &err), &err, REGISTRY_STATUS_OK, "image_id");
    CHECK(id && strcmp(id, env("REGISTRY_TEST_IMAGE_ID")) == 0, "id %s", id ? id : "(null)");
    registry_string_free(id);
    id = NULL;
    err = NULL;
    expect(registry_image_id(c, "fixtures/multi", "latest", &id, &err), &err, REGISTRY_STATUS_OK, "index id");
    CHECK(id && strcmp(id, env("REGISTRY_TEST_IMAGE_ID")) == 0, "amd64 entry");
    registry_string_free(id);
    id = NULL;
    err = NULL;
    expect(registry_image_id(c, "fixtures/app", "nope", &id, &err), &err, REGISTRY_STATUS_NOT_FOUND, "missing tag");
    CHECK(id == NULL, "out untouched");

    err = NULL;
    expect(registry_manifest_get(c, "fixtures/oci", "v1", &buf, &media, &digest, &err), &err, REGISTRY_STATUS_OK, "manifest");
    CHECK(registry_buf_len(buf) > 0 && registry_buf_data(buf)[0] == '{', "body");
    CHECK(media && strcmp(media, "application/vnd.oci.image.manifest.v1+json") == 0, "media %s", media);
    CHECK(digest && strncmp(digest, "sha256:", 7) == 0, "digest");
    registry_buf_free(buf);
    registry_string_free(media);
    err = NULL;
    buf = NULL;
    expect(registry_manifest_get(c, "fixtures/oci", digest, &buf, NULL, NULL, &err), &err, REGISTRY_STATUS_OK, "by digest, NULL outs");
    registry_buf_free(buf);
    registry_string_free(digest);

    err = NULL;
    expect(registry_layer_exists(c, "fixtures/app", layer, &exists, &err), &err, REGISTRY_STATUS_OK, "exists");
    CHECK(exists, "layer exists");
    err = NULL;
    expect(registry_layer_exists(c, "fixtures/app", missing, &exists, &err), &err, REGISTRY_STATUS_OK, "exists missing");
    CHECK(!exists, "missing layer");
    err = NULL;
    expect(registry_layer_exists(c, "fixtures/app", "sha256:xyz", &exists, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "bad digest");

    err = NULL;
    expect(registry_layer_open(c, "fixtures/app", layer, &r, &err), &err, REGISTRY_STATUS_OK, "open");
    {
        uint8_t chunk[7000];
        size_t n = 0;
        long total = 0;
        registry_status s;
        do {
            err = NULL;
            s = registry_reader_read(r, chunk, sizeof chunk, &n, &err);
            total += (long)n;
        } while (s == REGISTRY_STATUS_OK && n > 0);
        expect(s, &err, REGISTRY_STATUS_OK, "read to the end");
        CHECK(total == size, "read %ld of %ld", total, size);
        CHECK(registry_reader_verified(r), "the digest was checked");
        err = NULL;
        expect(registry_reader_read(r, chunk, 0, &n, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "cap 0");
        err = NULL;
        expect(registry_reader_read(r, NULL, 5, &n, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "buf NULL");
        /* A capacity no buffer can have is refused before it is used. */
        err = NULL;
        expect(registry_reader_read(r, chunk, SIZE_MAX, &n, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "cap SIZE_MAX");
        err = NULL;
        expect(registry_reader_read(r, chunk, (size_t)PTRDIFF_MAX + 1, &n, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT,
               "cap PTRDIFF_MAX + 1");
    }
    registry_reader_free(r);
    CHECK(!registry_reader_verified(NULL), "verified(NULL)");
    /* A reader freed before the end, and one that outlives its client. */
    err = NULL;
    expect(registry_layer_open(c, "fixtures/app", layer, &r, &err), &err, REGISTRY_STATUS_OK, "open again");
    CHECK(!registry_reader_verified(r), "nothing verified before the end");
    registry_reader_free(r);

    snprintf(path, sizeof path, "/tmp/registry-c-%d-%s.tar.gz", (int)getpid(), mode);
    err = NULL;
    expect(registry_layer_get_file(c, "fixtures/app", layer, path, &err), &err, REGISTRY_STATUS_OK, "get_file");
    CHECK(stat(path, &st) == 0 && st.st_size == size, "file size");
    unlink(path);
    err = NULL;
    expect(registry_layer_get_file(c, "fixtures/app", missing, path, &err), &err, REGISTRY_STATUS_NOT_FOUND, "get_file missing");
    CHECK(stat(path, &st) != 0, "no file after a failed download");

    err = NULL;
    expect(registry_search(c, "fixtures/multi", 10, &buf, &err), &err, REGISTRY_STATUS_OK, "search");
    {
        char *json = malloc(registry_buf_len(buf) + 1);
        memcpy(json, registry_buf_data(buf), registry_buf_len(buf));
        json[registry_buf_len(buf)] = 0;
        CHECK(strstr(json, "\"name\":\"fixtures/multi\"") != NULL, "search json %s", json);
        CHECK(strstr(json, "\"num_results\":1") != NULL, "num_results");
        free(json);
    }
    registry_buf_free(buf);

    /* One page of the filtered catalog, and a page past the last. */
    err = NULL;
    expect(registry_search_page(c, "FIXTURES/MULTI", 1, 1, &buf, &err), &err, REGISTRY_STATUS_OK, "search page");
    {
        char *json = buf_string(buf);
        CHECK(strstr(json, "\"num_results\":1,\"num_pages\":1,\"page_size\":1,\"page\":1,") != NULL &&
              strstr(json, "\"name\":\"fixtures/multi\"") && strstr(json, "\"is_trusted\":false"),
              "search page json %s", json);
        free(json);
    }
    expect(registry_search_page(c, "FIXTURES/MULTI", 2, 1, &buf, &err), &err, REGISTRY_STATUS_OK, "search page 2");
    {
        char *json = buf_string(buf);
        CHECK(strstr(json, "\"page\":2,\"results\":[]") != NULL, "past the last page: %s", json);
        free(json);
    }
    buf = NULL;
    expect(registry_search_page(c, "x", 0, 1, &buf, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "search page 0");
    expect(registry_search_page(c, NULL, 1, 1, &buf, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "search page NULL");
    CHECK(buf == NULL, "out untouched on failure");
    registry_client_free(c);
}

static void test_wrong_password(const char *mode) {
    registry_client *c = client_for(mode, envf(mode, "USER"), "wrong-pa55word");
    registry_list *tags = NULL;
    registry_error *err = NULL;
    CHECK(registry_tags(c, "fixtures/app", &tags, &err) == REGISTRY_STATUS_UNAUTHORIZED, "wrong password");
    CHECK(err && strstr(registry_error_message(err), "wrong-pa55word") == NULL, "password not echoed");
    CHECK(err && registry_error_http_status(err) == 401, "http 401");
    registry_error_free(err);
    registry_client_free(c);
}

static void test_pull_only_user(void) {
    registry_client *c = client_for("token", envf("token", "RO_USER"), envf("token", "RO_PASS"));
    registry_list *tags = NULL;
    registry_buf *buf = NULL;
    registry_error *err = NULL;
    expect(registry_tags(c, "fixtures/app", &tags, &err), &err, REGISTRY_STATUS_OK, "ro tags");
    registry_list_free(tags);
    err = NULL;
    expect(registry_search(c, "app", 0, &buf, &err), &err, REGISTRY_STATUS_FORBIDDEN, "ro catalog");
    registry_client_free(c);
}

/* A read callback over a memory buffer; aborts with 7 after `abort_after` calls
 * when that is not 0. */
struct source {
    const uint8_t *data;
    size_t len, pos;
    int calls, abort_after;
};

static int32_t read_source(void *userdata, uint8_t *buf, size_t cap, size_t *out_n) {
    struct source *s = userdata;
    size_t n = s->len - s->pos < cap ? s->len - s->pos : cap;
    if (s->abort_after && ++s->calls > s->abort_after) return 7;
    if (n > 1000) n = 1000; /* many small reads */
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    *out_n = n;
    return 0;
}

/* Reads a whole layer into a new buffer; returns its length or -1. */
static long read_layer(registry_client *c, const char *repo, const char *digest, uint8_t **out) {
    registry_reader *r = NULL;
    size_t cap = 1 << 16, len = 0, n = 0;
    uint8_t *buf = malloc(cap);
    if (registry_layer_open(c, repo, digest, &r, NULL) != REGISTRY_STATUS_OK) {
        free(buf);
        return -1;
    }
    do {
        if (len + 4096 > cap) buf = realloc(buf, cap *= 2);
        if (registry_reader_read(r, buf + len, 4096, &n, NULL) != REGISTRY_STATUS_OK) {
            registry_reader_free(r);
            free(buf);
            return -1;
        }
        len += n;
    } while (n > 0);
    /* Every fixture layer has a digest (v1: an image checksum) to check against. */
    CHECK(registry_reader_verified(r), "%s %s was verified", repo, digest);
    registry_reader_free(r);
    *out = buf;
    return (long)len;
}

static void test_write_flows(const char *mode) {
    registry_client *c = client_for(mode, envf(mode, "USER"), envf(mode, "PASS"));
    registry_error *err = NULL;
    registry_buf *manifest = NULL;
    registry_list *tags = NULL;
    char *digest = NULL, *file_digest = NULL, *media = NULL, *mdigest = NULL, *put_digest = NULL;
    char repo[64], tags_repo[64], path[256];
    uint8_t data[50000], *back = NULL;
    struct source src = {data, sizeof data, 0, 0, 0};
    bool yes = false;
    size_t i;
    FILE *f;
    const char *wrong = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fprintf(stderr, "# C write flows, %s mode\n", mode);
    snprintf(repo, sizeof repo, "c/uploads-%d", (int)getpid());
    snprintf(tags_repo, sizeof tags_repo, "c/tags-%d", (int)getpid());
    for (i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 7 + mode[0]);

    expect(registry_layer_put(c, repo, NULL, read_source, &src, &digest, &err), &err, REGISTRY_STATUS_OK, "layer_put");
    CHECK(digest && strncmp(digest, "sha256:", 7) == 0, "digest");
    CHECK(read_layer(c, repo, digest, &back) == (long)sizeof data && memcmp(back, data, sizeof data) == 0,
          "read back what was put");
    free(back);

    snprintf(path, sizeof path, "/tmp/registry-c-up-%d", (int)getpid());
    f = fopen(path, "wb");
    fwrite(data, 1, sizeof data, f);
    fclose(f);
    expect(registry_layer_put_file(c, repo, digest, path, &file_digest, &err), &err, REGISTRY_STATUS_OK, "put_file");
    CHECK(file_digest && strcmp(file_digest, digest) == 0, "same bytes, same digest");
    registry_string_free(file_digest);
    unlink(path);
    expect(registry_layer_put_file(c, repo, NULL, path, NULL, &err), &err, REGISTRY_STATUS_IO, "put missing file");

    src.pos = 0;
    expect(registry_layer_put(c, repo, wrong, read_source, &src, NULL, &err), &err, REGISTRY_STATUS_DIGEST_MISMATCH, "mismatch");
    expect(registry_layer_exists(c, repo, wrong, &yes, &err), &err, REGISTRY_STATUS_OK, "exists");
    CHECK(!yes, "nothing committed under the expected digest");
    src.pos = 0;
    src.abort_after = 3;
    data[0] ^= 0xff; /* other bytes, so the abort is not hidden by an existing blob */
    expect(registry_layer_put(c, repo, NULL, read_source, &src, NULL, &err), &err, REGISTRY_STATUS_ABORTED, "abort");
    expect(registry_layer_put(c, repo, NULL, NULL, &src, NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "read NULL");
    registry_string_free(digest);

    /* An image in a repository of our own: mount the fixture's blobs, copy its manifest. */
    expect(registry_blob_mount(c, tags_repo, env("REGISTRY_TEST_LAYER_DIGEST"), "fixtures/app", &yes, &err), &err,
           REGISTRY_STATUS_OK, "mount layer");
    CHECK(yes, "layer mounted");
    expect(registry_blob_mount(c, tags_repo, env("REGISTRY_TEST_IMAGE_ID"), "fixtures/app", &yes, &err), &err,
           REGISTRY_STATUS_OK, "mount config");
    expect(registry_blob_mount(c, tags_repo, wrong, "fixtures/app", &yes, &err), &err, REGISTRY_STATUS_OK, "mount missing");
    CHECK(!yes, "an unknown blob is not mounted");
    expect(registry_manifest_get(c, "fixtures/app", "v1", &manifest, &media, &mdigest, &err), &err, REGISTRY_STATUS_OK, "get");
    expect(registry_manifest_put(c, tags_repo, "v1", media, registry_buf_data(manifest), registry_buf_len(manifest),
                                 &put_digest, &err), &err, REGISTRY_STATUS_OK, "manifest_put");
    CHECK(put_digest && strcmp(put_digest, mdigest) == 0, "byte for byte");
    registry_string_free(put_digest);
    expect(registry_manifest_put(c, tags_repo, wrong, media, registry_buf_data(manifest), registry_buf_len(manifest),
                                 NULL, &err), &err, REGISTRY_STATUS_DIGEST_MISMATCH, "put under another digest");
    expect(registry_manifest_put(c, tags_repo, "v9", media, NULL, 5, NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "body NULL");
    expect(registry_manifest_put(c, tags_repo, "v9", media, registry_buf_data(manifest), SIZE_MAX, NULL, &err), &err,
           REGISTRY_STATUS_INVALID_ARGUMENT, "len SIZE_MAX");
    registry_buf_free(manifest);
    registry_string_free(media);

    expect(registry_set_tag(c, tags_repo, "v1", "v2", &err), &err, REGISTRY_STATUS_OK, "set_tag");
    expect(registry_set_tag(c, tags_repo, mdigest, "v3", &err), &err, REGISTRY_STATUS_OK, "set_tag by digest");
    expect(registry_delete_tag(c, tags_repo, "v2", &err), &err, REGISTRY_STATUS_OK, "delete_tag");
    expect(registry_tags(c, tags_repo, &tags, &err), &err, REGISTRY_STATUS_OK, "tags");
    CHECK(registry_list_len(tags) == 2 && strcmp(registry_list_get(tags, 0), "v1") == 0 &&
          strcmp(registry_list_get(tags, 1), "v3") == 0, "v1 and v3 survive");
    registry_list_free(tags);
    expect(registry_delete_tag(c, tags_repo, "v2", &err), &err, REGISTRY_STATUS_NOT_FOUND, "delete missing tag");
    expect(registry_manifest_delete(c, tags_repo, mdigest, &err), &err, REGISTRY_STATUS_OK, "manifest_delete");
    expect(registry_tags(c, tags_repo, &tags, &err), &err, REGISTRY_STATUS_OK, "tags after delete");
    CHECK(registry_list_len(tags) == 0, "no tags left");
    registry_list_free(tags);
    registry_string_free(mdigest);
    registry_client_free(c);
}

/* Takes a buffer and returns its bytes as a NUL-terminated string (free()). */
static char *buf_string(registry_buf *buf) {
    size_t len = registry_buf_len(buf);
    char *s = calloc(1, len + 1);
    memcpy(s, registry_buf_data(buf), len);
    registry_buf_free(buf);
    return s;
}

/* The v1 flows against the fixture v1 server: "v1" is an index handing out
 * tokens for a registry on another port, "v1sa" a standalone registry. */
static void test_v1(const char *mode) {
    registry_client *c = client_for(mode, envf(mode, "USER"), envf(mode, "PASS"));
    registry_client *v2 = client_for("anon", NULL, NULL);
    registry_error *err = NULL;
    registry_list *list = NULL;
    registry_buf *buf = NULL;
    char *s = NULL, *sum = NULL;
    const char *image = env("REGISTRY_TEST_V1_IMAGE_ID"), *parent = env("REGISTRY_TEST_V1_PARENT_ID");
    long layer_size = atol(env("REGISTRY_TEST_V1_LAYER_SIZE"));
    char repo[64], id[65], id2[65], json[256], json2[256], path[256];
    uint8_t data[30000], *back = NULL;
    struct source src = {data, sizeof data, 0, 0, 0};
    uint32_t api = 0;
    bool yes = false;
    struct stat st;
    size_t i;

    fprintf(stderr, "# C v1 flows, %s mode\n", mode);
    expect(registry_ping(c, &api, &err), &err, REGISTRY_STATUS_OK, "v1 ping");
    CHECK(api == REGISTRY_API_V1, "auto detects v1, got %u", api);

    expect(registry_tags(c, "fixtures/v1app", &list, &err), &err, REGISTRY_STATUS_OK, "v1 tags");
    CHECK(registry_list_len(list) == 2 && strcmp(registry_list_get(list, 0), "base") == 0 &&
          strcmp(registry_list_get(list, 1), "latest") == 0, "v1 tags are base and latest");
    registry_list_free(list);
    expect(registry_image_id(c, "fixtures/v1app", "latest", &s, &err), &err, REGISTRY_STATUS_OK, "v1 image_id");
    CHECK(s && strcmp(s, image) == 0, "v1 image id %s", s ? s : "(null)");
    registry_string_free(s);
    expect(registry_image_id(c, "busybox", "latest", &s, &err), &err, REGISTRY_STATUS_OK, "library/ image_id");
    CHECK(s && strcmp(s, parent) == 0, "busybox means library/busybox");
    registry_string_free(s);
    expect(registry_image_id(c, "fixtures/v1app", "nope", &s, &err), &err, REGISTRY_STATUS_NOT_FOUND, "v1 missing tag");

    expect(registry_v1_ancestry(c, image, &list, &err), &err, REGISTRY_STATUS_OK, "ancestry");
    CHECK(registry_list_len(list) == 2 && strcmp(registry_list_get(list, 0), image) == 0 &&
          strcmp(registry_list_get(list, 1), parent) == 0, "ancestry is the image, then its parent");
    registry_list_free(list);
    expect(registry_v1_image_json(c, image, &buf, &err), &err, REGISTRY_STATUS_OK, "image json");
    s = buf_string(buf);
    CHECK(strstr(s, image) && strstr(s, parent), "the JSON names the image and its parent: %s", s);
    free(s);
    s = NULL;
    /* The same, acting for a named repository (its own token behind an index). */
    expect(registry_v1_repo_image_json(c, "fixtures/v1app", image, &buf, &err), &err, REGISTRY_STATUS_OK, "repo image json");
    s = buf_string(buf);
    CHECK(strstr(s, image) != NULL, "repo image json names the image: %s", s);
    free(s);
    s = NULL;
    expect(registry_v1_repo_ancestry(c, "fixtures/v1app", image, &list, &err), &err, REGISTRY_STATUS_OK, "repo ancestry");
    CHECK(registry_list_len(list) == 2, "repo ancestry has two images");
    registry_list_free(list);
    expect(registry_v1_repo_ancestry(c, "Bad/Repo", image, &list, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "bad repo");

    expect(registry_layer_exists(c, "fixtures/v1app", image, &yes, &err), &err, REGISTRY_STATUS_OK, "v1 exists");
    CHECK(yes, "the image exists");
    CHECK(read_layer(c, "fixtures/v1app", image, &back) == layer_size, "v1 layer read, checksum checked");
    free(back);
    snprintf(path, sizeof path, "/tmp/registry-c-v1-%d", (int)getpid());
    expect(registry_layer_get_file(c, "fixtures/v1app", image, path, &err), &err, REGISTRY_STATUS_OK, "v1 get_file");
    CHECK(stat(path, &st) == 0 && st.st_size == layer_size, "v1 layer file size");
    unlink(path);

    expect(registry_search(c, "v1app", 0, &buf, &err), &err, REGISTRY_STATUS_OK, "v1 search");
    s = buf_string(buf);
    CHECK(strstr(s, "\"name\":\"fixtures/v1app\"") && strstr(s, "\"num_results\":1"), "search finds fixtures/v1app: %s", s);
    free(s);
    s = NULL;

    expect(registry_hub_token(c, "fixtures/v1app", REGISTRY_ACCESS_READ, &s, &err), &err, REGISTRY_STATUS_OK, "read token");
    CHECK(s && strstr(s, "access=read") && strncmp(s, "signature=", 10) == 0, "read token %s", s ? s : "");
    registry_string_free(s);
    expect(registry_hub_token(c, "fixtures/v1app", REGISTRY_ACCESS_DELETE, &s, &err), &err, REGISTRY_STATUS_OK, "delete token");
    CHECK(s && strstr(s, "access=delete"), "delete token");
    registry_string_free(s);

    /* Push an image on the fixture's base, tag it, untag it. */
    snprintf(repo, sizeof repo, "c/v1-%d", (int)getpid());
    snprintf(id, sizeof id, "%016x%016x%016x%016x", (unsigned)getpid(), (unsigned)strlen(mode), 0xc0ffeeu, 1u);
    snprintf(id2, sizeof id2, "%016x%016x%016x%016x", (unsigned)getpid(), (unsigned)strlen(mode), 0xc0ffeeu, 2u);
    snprintf(json, sizeof json, "{\"id\":\"%s\",\"parent\":\"%s\"}", id, parent);
    snprintf(json2, sizeof json2, "{\"id\":\"%s\",\"parent\":\"%s\"}", id2, parent);
    for (i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 13 + mode[1]);
    expect(registry_hub_token(c, repo, REGISTRY_ACCESS_WRITE, &s, &err), &err, REGISTRY_STATUS_OK, "write token");
    CHECK(s && strstr(s, "access=write"), "write token");
    registry_string_free(s);
    expect(registry_v1_repo_image_json_put(c, repo, id, json, &err), &err, REGISTRY_STATUS_OK, "json put");
    expect(registry_layer_put(c, repo, id, read_source, &src, &sum, &err), &err, REGISTRY_STATUS_OK, "v1 layer_put");
    CHECK(sum && strncmp(sum, "sha256:", 7) == 0 && strlen(sum) == 71, "v1 checksum %s", sum ? sum : "");
    registry_string_free(sum);
    expect(registry_set_tag(c, repo, id, "v1", &err), &err, REGISTRY_STATUS_OK, "v1 set_tag");
    expect(registry_image_id(c, repo, "v1", &s, &err), &err, REGISTRY_STATUS_OK, "pushed image_id");
    CHECK(s && strcmp(s, id) == 0, "the tag names the pushed image");
    registry_string_free(s);
    CHECK(read_layer(c, repo, id, &back) == (long)sizeof data && memcmp(back, data, sizeof data) == 0,
          "v1 layer reads back");
    free(back);
    expect(registry_delete_tag(c, repo, "v1", &err), &err, REGISTRY_STATUS_OK, "v1 delete_tag");
    expect(registry_delete_tag(c, repo, "v1", &err), &err, REGISTRY_STATUS_NOT_FOUND, "v1 delete missing tag");
    expect(registry_set_tag(c, repo, "0000000000000000000000000000000000000000000000000000000000000000", "v2", &err),
           &err, REGISTRY_STATUS_NOT_FOUND, "tag an unknown image");

    /* An aborted upload leaves the image incomplete: it cannot be tagged. */
    expect(registry_v1_image_json_put(c, id2, json2, &err), &err, REGISTRY_STATUS_OK, "json put 2");
    src.pos = 0;
    src.abort_after = 3;
    expect(registry_layer_put(c, repo, id2, read_source, &src, NULL, &err), &err, REGISTRY_STATUS_ABORTED, "v1 abort");
    expect(registry_set_tag(c, repo, id2, "v2", &err), &err, REGISTRY_STATUS_NOT_FOUND, "incomplete image");

    /* Bad input, and calls of the other API. */
    expect(registry_layer_put(c, repo, NULL, read_source, &src, NULL, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT,
           "v1 layer_put without an image id");
    expect(registry_v1_image_json(c, "not-an-id", &buf, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "bad image id");
    expect(registry_v1_image_json(NULL, image, &buf, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL client");
    expect(registry_v1_image_json_put(c, id, NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL json");
    expect(registry_v1_image_json_put(c, id, "{\"id\": 1}", &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "json id");
    expect(registry_v1_ancestry(c, image, NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL out");
    expect(registry_manifest_get(c, "fixtures/v1app", "latest", &buf, NULL, NULL, &err), &err,
           REGISTRY_STATUS_UNSUPPORTED, "v2-only call on v1");
    expect(registry_v1_ancestry(v2, image, &list, &err), &err, REGISTRY_STATUS_UNSUPPORTED, "v1-only call on v2");
    expect(registry_v1_image_json(v2, image, &buf, &err), &err, REGISTRY_STATUS_UNSUPPORTED, "v1 json on v2");
    expect(registry_v1_image_json_put(v2, id, json, &err), &err, REGISTRY_STATUS_UNSUPPORTED, "v1 json put on v2");
    registry_client_free(v2);
    registry_client_free(c);

    c = client_for(mode, envf(mode, "USER"), "wrong-password");
    expect(registry_hub_token(c, "fixtures/v1app", REGISTRY_ACCESS_WRITE, &s, &err), &err, REGISTRY_STATUS_UNAUTHORIZED,
           "v1 wrong password");
    registry_client_free(c);
}

static void test_tokens_and_scopes(void) {
    registry_client *c = client_for("token", envf("token", "USER"), envf("token", "PASS"));
    registry_client *ro = client_for("token", envf("token", "RO_USER"), envf("token", "RO_PASS"));
    registry_client *basic = client_for("basic", envf("basic", "USER"), envf("basic", "PASS"));
    registry_error *err = NULL;
    char *tok = NULL;
    uint8_t data[10] = "0123456789";
    struct source src = {data, sizeof data, 0, 0, 0};
    uint32_t access;
    for (access = REGISTRY_ACCESS_READ; access <= REGISTRY_ACCESS_DELETE; access++) {
        expect(registry_hub_token(c, "fixtures/app", access, &tok, &err), &err, REGISTRY_STATUS_OK, "hub_token");
        CHECK(tok && strchr(tok, '.') && strchr(strchr(tok, '.') + 1, '.'), "a JWT");
        registry_string_free(tok);
        tok = NULL;
    }
    /* registry_token is the same call under the name that says what it does. */
    expect(registry_token(c, "fixtures/app", REGISTRY_ACCESS_WRITE, &tok, &err), &err, REGISTRY_STATUS_OK, "token");
    CHECK(tok && strchr(tok, '.') && strchr(strchr(tok, '.') + 1, '.'), "registry_token: a JWT");
    registry_string_free(tok);
    tok = NULL;
    expect(registry_token(c, "fixtures/app", 9, &tok, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "token access 9");
    expect(registry_token(basic, "fixtures/app", REGISTRY_ACCESS_READ, &tok, &err), &err, REGISTRY_STATUS_UNSUPPORTED,
           "token: no token auth");
    expect(registry_hub_token(c, "fixtures/app", 9, &tok, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "access 9");
    expect(registry_hub_token(basic, "fixtures/app", REGISTRY_ACCESS_READ, &tok, &err), &err, REGISTRY_STATUS_UNSUPPORTED,
           "no token auth");
    expect(registry_layer_put(ro, "c/denied", NULL, read_source, &src, NULL, &err), &err, REGISTRY_STATUS_FORBIDDEN,
           "pull-only push");
    expect(registry_delete_tag(ro, "fixtures/app", "v1", &err), &err, REGISTRY_STATUS_FORBIDDEN, "pull-only delete");
    registry_client_free(c);
    registry_client_free(ro);
    registry_client_free(basic);
}

/* A client built from the address alone finds its credentials through
 * $DOCKER_CONFIG/config.json and a credential helper on PATH. */
static void test_credential_helper(void) {
    char dir[] = "/tmp/registry-c-helper-XXXXXX";
    char path[512], newpath[4096];
    const char *old_path = getenv("PATH");
    const char *modes[] = {"basic", "token"};
    FILE *f;
    size_t i;

    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/docker-credential-ctest", dir);
    f = fopen(path, "w");
    fprintf(f, "#!/bin/sh\ncat >/dev/null\necho '{\"ServerURL\":\"x\",\"Username\":\"%s\",\"Secret\":\"%s\"}'\n",
            envf("basic", "USER"), envf("basic", "PASS"));
    fclose(f);
    chmod(path, 0755);
    snprintf(path, sizeof path, "%s/config.json", dir);
    f = fopen(path, "w");
    fprintf(f, "{\"credsStore\":\"ctest\"}");
    fclose(f);
    snprintf(newpath, sizeof newpath, "%s:%s", dir, old_path ? old_path : "/usr/bin:/bin");
    setenv("PATH", newpath, 1);
    setenv("DOCKER_CONFIG", dir, 1);
    for (i = 0; i < 2; i++) {
        registry_client_builder *b = NULL;
        registry_client *c = NULL;
        registry_list *tags = NULL;
        registry_error *err = NULL;
        expect(registry_client_builder_new(envf(modes[i], "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "new");
        expect(registry_client_builder_certs_dir(b, envf(modes[i], "CERTS_DIR"), &err), &err, REGISTRY_STATUS_OK,
               "certs_dir");
        expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build from the address alone");
        expect(registry_tags(c, "fixtures/app", &tags, &err), &err, REGISTRY_STATUS_OK, modes[i]);
        registry_list_free(tags);
        registry_client_free(c);
    }
    unsetenv("DOCKER_CONFIG");
    if (old_path) setenv("PATH", old_path, 1);
    unlink(path);
    snprintf(path, sizeof path, "%s/docker-credential-ctest", dir);
    unlink(path);
    rmdir(dir);
}

static void test_certs_dir_and_retries(void) {
    registry_client_builder *b = NULL;
    registry_client *c = NULL;
    registry_list *tags = NULL;
    registry_error *err = NULL;
    uint32_t api;

    /* Mutual TLS: the CA and the client certificate both come from certs.d. */
    expect(registry_client_builder_new(envf("mtls", "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_client_builder_certs_dir(b, envf("mtls", "CERTS_DIR"), &err), &err, REGISTRY_STATUS_OK, "certs_dir");
    expect(registry_client_builder_max_retries(b, 0, &err), &err, REGISTRY_STATUS_OK, "max_retries");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build");
    expect(registry_tags(c, "fixtures/app", &tags, &err), &err, REGISTRY_STATUS_OK, "mtls tags");
    CHECK(registry_list_len(tags) == 2, "two tags over mutual TLS");
    registry_list_free(tags);
    registry_client_free(c);

    /* Through the fixture's proxy, and through one that is not there. */
    expect(registry_client_builder_new(envf("anon", "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_client_builder_proxy(b, env("REGISTRY_TEST_PROXY_URL"), &err), &err, REGISTRY_STATUS_OK, "proxy");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build");
    expect(registry_tags(c, "fixtures/app", &tags, &err), &err, REGISTRY_STATUS_OK, "tags via proxy");
    registry_list_free(tags);
    registry_client_free(c);
    expect(registry_client_builder_new(envf("anon", "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_client_builder_proxy(b, "http://127.0.0.1:1", &err), &err, REGISTRY_STATUS_OK, "dead proxy");
    expect(registry_client_builder_max_retries(b, 0, &err), &err, REGISTRY_STATUS_OK, "no retries");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build");
    expect(registry_tags(c, "fixtures/app", &tags, &err), &err, REGISTRY_STATUS_NETWORK, "dead proxy is not bypassed");
    registry_client_free(c);

    /* The CA alone is refused by the registry. */
    c = client_for("mtls", NULL, NULL);
    expect(registry_ping(c, &api, &err), &err, REGISTRY_STATUS_TLS, "no client certificate");
    registry_client_free(c);
}

static registry_client *shared;

/* Progress reports of one whole-image call. */
struct reports {
    pthread_t caller;   /* every report must come on this thread */
    int calls, zeros, finals, off_thread;
    int cancel_after;   /* cancel at this report (0: never) */
};

static int32_t on_progress(void *userdata, const char *digest, uint64_t done, uint64_t total) {
    struct reports *r = userdata;
    r->calls++;
    if (!pthread_equal(pthread_self(), r->caller)) r->off_thread++;
    if (strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71) r->off_thread += 1000;
    if (done == 0) r->zeros++;
    if (done == total) r->finals++;
    return r->cancel_after && r->calls >= r->cancel_after;
}

static void test_images(void) {
    registry_client *anon = client_for("anon", NULL, NULL);
    registry_client *token = client_for("token", envf("token", "USER"), envf("token", "PASS"));
    registry_error *err = NULL;
    registry_client_builder *b = NULL;
    registry_buf *buf = NULL;
    char dir[] = "/tmp/registry-c-layout-XXXXXX";
    char path[512], *d = NULL, *media = NULL;
    struct reports r;
    struct stat st;
    uint64_t size = 0;
    const char *layers = env("REGISTRY_TEST_LAYERS_DIGEST"), *index = env("REGISTRY_TEST_INDEX_DIGEST");

    fprintf(stderr, "# C whole images\n");
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    memset(&r, 0, sizeof r);
    r.caller = pthread_self();
    expect(registry_image_pull(anon, "fixtures/layers", "v1", NULL, dir, on_progress, &r, &d, &err), &err,
           REGISTRY_STATUS_OK, "pull");
    CHECK(d && strcmp(d, layers) == 0, "pulled %s", d ? d : "(null)");
    registry_string_free(d);
    d = NULL;
    CHECK(r.off_thread == 0, "%d reports off the calling thread or with a bad digest", r.off_thread);
    CHECK(r.zeros >= 5 && r.finals >= 5, "a manifest, a config and three layers: %d zeros, %d finals", r.zeros, r.finals);
    snprintf(path, sizeof path, "%s/index.json", dir);
    CHECK(stat(path, &st) == 0, "index.json written");

    /* One platform of an index, by its variant-less name. */
    expect(registry_image_pull(anon, "fixtures/multi", "latest", "linux/arm64", dir, NULL, NULL, NULL, &err), &err,
           REGISTRY_STATUS_OK, "pull arm64");
    expect(registry_image_pull(anon, "fixtures/multi", "latest", "linux", dir, NULL, NULL, NULL, &err), &err,
           REGISTRY_STATUS_INVALID_ARGUMENT, "bad platform");
    expect(registry_image_pull(anon, "fixtures/multi", "latest", "linux/s390x", dir, NULL, NULL, NULL, &err), &err,
           REGISTRY_STATUS_NOT_FOUND, "no such platform");
    expect(registry_image_pull(anon, NULL, "v1", NULL, dir, NULL, NULL, NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT,
           "pull NULL repo");

    /* Push the pulled layout to the other registry, by name. */
    memset(&r, 0, sizeof r);
    r.caller = pthread_self();
    expect(registry_image_push(token, dir, "v1", "c/pushed", "v1", on_progress, &r, &d, &err), &err, REGISTRY_STATUS_OK,
           "push");
    CHECK(d && strcmp(d, layers) == 0, "pushed byte for byte");
    registry_string_free(d);
    d = NULL;
    CHECK(r.off_thread == 0 && r.zeros >= 5, "push progress");
    expect(registry_image_push(token, dir, NULL, "c/pushed", "v2", NULL, NULL, NULL, &err), &err,
           REGISTRY_STATUS_INVALID_ARGUMENT, "two images, no name");

    /* Copy between registries, and within one (mounts). */
    expect(registry_image_copy(anon, "fixtures/multi", "latest", token, "c/copied", NULL, NULL, NULL, NULL, &d, &err), &err,
           REGISTRY_STATUS_OK, "copy");
    CHECK(d && strcmp(d, index) == 0, "copied the index byte for byte");
    registry_string_free(d);
    d = NULL;
    expect(registry_image_copy(token, "c/copied", "latest", token, "c/mounted", "m", NULL, NULL, NULL, NULL, &err), &err,
           REGISTRY_STATUS_OK, "copy within one registry");
    expect(registry_manifest_head(token, "c/mounted", "m", &d, &media, &size, &err), &err, REGISTRY_STATUS_OK, "head");
    CHECK(d && strcmp(d, index) == 0 && media && strstr(media, "index") && size > 0, "head of the copy");
    registry_string_free(d);
    registry_string_free(media);
    d = media = NULL;
    expect(registry_manifest_head(token, "c/mounted", "m", NULL, NULL, NULL, &err), &err, REGISTRY_STATUS_OK,
           "head, no out-params");

    /* Cancelled at the second report: ABORTED, nothing named. */
    memset(&r, 0, sizeof r);
    r.caller = pthread_self();
    r.cancel_after = 2;
    expect(registry_image_copy(anon, "fixtures/layers", "v1", token, "c/cancelled", NULL, NULL, on_progress, &r, &d, &err),
           &err, REGISTRY_STATUS_ABORTED, "cancelled copy");
    CHECK(d == NULL, "no digest on failure");
    CHECK(r.calls == 2, "no report after the cancel: %d", r.calls);
    expect(registry_manifest_head(token, "c/cancelled", "v1", NULL, NULL, NULL, &err), &err, REGISTRY_STATUS_NOT_FOUND,
           "nothing tagged");

    /* The config of one platform. */
    expect(registry_image_config(token, "c/copied", "latest", "linux/arm64", &buf, &err), &err, REGISTRY_STATUS_OK,
           "config");
    {
        char *json = buf_string(buf);
        CHECK(strstr(json, "\"architecture\"") && strstr(json, "\"arm64\""), "arm64 config: %s", json);
        free(json);
    }
    expect(registry_image_config(token, "c/copied", "latest", "x", &buf, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT,
           "config, bad platform");

    /* The manifest of one platform, through the index. */
    expect(registry_manifest_get_for_platform(token, "c/copied", "latest", "linux/arm64", &buf, &media, &d, &err), &err,
           REGISTRY_STATUS_OK, "manifest for arm64");
    {
        char *json = buf_string(buf);
        const char *arm64_config = env("REGISTRY_TEST_ARM64_IMAGE_ID");
        CHECK(strstr(json, arm64_config) != NULL, "the arm64 manifest names the arm64 config: %s", json);
        CHECK(media && strstr(media, "manifest") && !strstr(media, "index") && !strstr(media, "list"), "media %s",
              media ? media : "(null)");
        CHECK(d && strncmp(d, "sha256:", 7) == 0 && strcmp(d, index) != 0, "digest %s", d ? d : "(null)");
        free(json); /* buf_string freed buf */
        registry_string_free(media);
        registry_string_free(d);
        buf = NULL;
        d = media = NULL;
    }
    expect(registry_manifest_get_for_platform(token, "c/copied", "latest", "linux/s390x", &buf, &media, &d, &err), &err,
           REGISTRY_STATUS_NOT_FOUND, "manifest, no such platform");
    CHECK(buf == NULL && media == NULL && d == NULL, "out-params untouched on failure");
    expect(registry_manifest_get_for_platform(token, "c/copied", "latest", "linux", &buf, NULL, NULL, &err), &err,
           REGISTRY_STATUS_INVALID_ARGUMENT, "manifest, bad platform");
    expect(registry_manifest_get_for_platform(token, "c/copied", "latest", NULL, &buf, NULL, NULL, &err), &err,
           REGISTRY_STATUS_NULL_ARGUMENT, "manifest, NULL platform");
    expect(registry_manifest_get_for_platform(token, "c/copied", "latest", "linux", NULL, NULL, NULL, &err), &err,
           REGISTRY_STATUS_NULL_ARGUMENT, "manifest, NULL body_out before a bad platform");

    expect(registry_client_builder_new("localhost:1", &b, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_client_builder_parallel(b, 0, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "parallel 0");
    expect(registry_client_builder_parallel(NULL, 0, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "parallel(NULL, 0)");
    expect(registry_client_builder_parallel(b, 2, &err), &err, REGISTRY_STATUS_OK, "parallel 2");
    registry_client_builder_free(b);

    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK(system(path) == 0, "cleanup");
    registry_client_free(anon);
    registry_client_free(token);
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* When the first large blob was done: the call is cancelled there. */
static int32_t cancel_on_first_blob(void *userdata, const char *digest, uint64_t done, uint64_t total) {
    double *cancelled_at = userdata;
    (void)digest;
    if (done == total && total > 1000) {
        *cancelled_at = now_seconds();
        return 1;
    }
    return 0;
}

/* Cancel means stop (a registry whose one layer never answers:
 * ffi-tests/fixtures/stall.py), and layouts that are no layouts. */
static void test_cancel_and_layouts(void) {
    registry_client_builder *b = NULL;
    registry_client *c = NULL;
    registry_error *err = NULL;
    char line[128] = "", url[160], dir[] = "/tmp/registry-c-cancel-XXXXXX", path[512];
    double cancelled_at = 0;
    int pid = 0;
    struct stat st;
    FILE *server = popen("exec python3 ffi-tests/fixtures/stall.py", "r");

    fprintf(stderr, "# C cancel and layouts\n");
    CHECK(server && fgets(line, sizeof line, server), "stall.py starts");
    {
        char *space = strchr(line, ' ');
        if (space) {
            *space = '\0';
            pid = atoi(space + 1);
        }
    }
    snprintf(url, sizeof url, "http://%s", line);
    expect(registry_client_builder_new(url, &b, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_client_builder_timeout_ms(b, 20000, &err), &err, REGISTRY_STATUS_OK, "timeout");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build");
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");

    expect(registry_image_pull(c, "r", "v1", NULL, dir, cancel_on_first_blob, &cancelled_at, NULL, &err), &err,
           REGISTRY_STATUS_ABORTED, "cancelled while a blob stalls");
    CHECK(cancelled_at > 0 && now_seconds() - cancelled_at < 10, "returned %.1f s after the cancel (timeout 20 s)",
          now_seconds() - cancelled_at);

    /* An empty path is no directory: nothing is written where we stand. */
    CHECK(stat("oci-layout", &st) != 0, "no oci-layout here before");
    expect(registry_image_pull(c, "r", "v1", NULL, "", NULL, NULL, NULL, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT,
           "empty layout path");
    CHECK(stat("oci-layout", &st) != 0, "no oci-layout written into the current directory");
    /* A directory holding something else is refused, untouched. */
    snprintf(path, sizeof path, "%s/other/notes.txt", dir);
    {
        char other[512];
        FILE *f;
        snprintf(other, sizeof other, "%s/other", dir);
        CHECK(mkdir(other, 0700) == 0, "mkdir");
        f = fopen(path, "w");
        CHECK(f != NULL, "fopen");
        if (f) fclose(f);
        expect(registry_image_pull(c, "r", "v1", NULL, other, NULL, NULL, NULL, &err), &err,
               REGISTRY_STATUS_INVALID_ARGUMENT, "a directory that is no layout");
        snprintf(path, sizeof path, "%s/other/oci-layout", dir);
        CHECK(stat(path, &st) != 0, "left untouched");
    }

    registry_client_free(c);
    if (pid > 0) kill(pid, SIGTERM);
    if (server) pclose(server);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK(system(path) == 0, "cleanup");
}

static void *worker(void *arg) {
    long ok = 0;
    int i;
    (void)arg;
    for (i = 0; i < 3; i++) {
        char *id = NULL;
        if (registry_image_id(shared, "fixtures/app", i % 2 ? "v1" : "v2", &id, NULL) == REGISTRY_STATUS_OK &&
            strcmp(id, env("REGISTRY_TEST_IMAGE_ID")) == 0)
            ok++;
        registry_string_free(id);
    }
    return (void *)ok;
}

static void test_threads(void) {
    pthread_t t[4];
    int i;
    shared = client_for("token", envf("token", "USER"), envf("token", "PASS"));
    for (i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (i = 0; i < 4; i++) {
        void *ok;
        pthread_join(t[i], &ok);
        CHECK((long)ok == 3, "thread %d: %ld of 3", i, (long)ok);
    }
    registry_client_free(shared);
}

static void test_tls_without_ca(void) {
    registry_client_builder *b = NULL;
    registry_client *c = NULL;
    registry_error *err = NULL;
    uint32_t api;
    registry_client_builder_new(envf("tls", "ADDR"), &b, NULL);
    registry_client_builder_build(b, &c, NULL);
    expect(registry_ping(c, &api, &err), &err, REGISTRY_STATUS_TLS, "tls without ca");
    registry_client_free(c);
}

/* Mirrors: a registry that is down (nothing listens on port 1), read
 * through the anon registry as its mirror; writes stay with the registry. */
static void test_mirrors(void) {
    registry_client_builder *b = NULL;
    registry_client *c = NULL;
    registry_error *err = NULL;
    registry_list *tags = NULL;
    char dir[] = "/tmp/registry-c-mirror-XXXXXX";
    char url[256], cmd[512], *d = NULL;

    fprintf(stderr, "# C mirrors\n");
    snprintf(url, sizeof url, "http://%s", envf("anon", "ADDR"));
    expect(registry_client_builder_new("127.0.0.1:1", &b, &err), &err, REGISTRY_STATUS_OK, "builder");
    expect(registry_client_builder_mirror(b, "http://127.0.0.1:5000/v2/", &err), &err,
           REGISTRY_STATUS_INVALID_ARGUMENT, "a mirror with a path");
    expect(registry_client_builder_mirror(b, NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL mirror");
    expect(registry_client_builder_mirror(NULL, url, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL builder");
    expect(registry_client_builder_mirror(b, url, &err), &err, REGISTRY_STATUS_OK, "mirror");
    expect(registry_client_builder_docker_config(b, "", &err), &err, REGISTRY_STATUS_OK, "no config");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build");
    expect(registry_tags(c, "fixtures/app", &tags, &err), &err, REGISTRY_STATUS_OK, "tags from the mirror");
    CHECK(tags && registry_list_len(tags) >= 2, "tags");
    registry_list_free(tags);
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    expect(registry_image_pull(c, "fixtures/multi", "latest", NULL, dir, NULL, NULL, &d, &err), &err,
           REGISTRY_STATUS_OK, "pull from the mirror");
    CHECK(d && strcmp(d, env("REGISTRY_TEST_INDEX_DIGEST")) == 0, "pulled %s", d ? d : "(null)");
    registry_string_free(d);
    expect(registry_set_tag(c, "fixtures/app", "v1", "from-c", &err), &err, REGISTRY_STATUS_NETWORK,
           "a write goes to the registry alone");
    registry_client_free(c);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

/* OCI 1.1 artifacts and referrers: on anon (distribution, the fallback
 * tag) and on ferro (the referrers API). */
static int buf_contains(const registry_buf *buf, const char *needle) {
    size_t n = registry_buf_len(buf), m = strlen(needle), i;
    const uint8_t *d = registry_buf_data(buf);
    for (i = 0; m <= n && i <= n - m; i++)
        if (memcmp(d + i, needle, m) == 0) return 1;
    return 0;
}

static void test_referrers(const char *mode) {
    registry_client_builder *b = NULL;
    registry_client *c = NULL;
    registry_error *err = NULL;
    registry_buf *index = NULL;
    char repo[128], file[] = "/tmp/registry-c-artifact-XXXXXX", *subject = NULL, *sig = NULL, *sbom = NULL;
    const char *paths[1], *types[1] = {NULL};
    const char *sig_type = "application/vnd.dev.cosign.artifact.sig.v1+json";
    int fd;

    fprintf(stderr, "# C referrers (%s)\n", mode);
    snprintf(repo, sizeof repo, "c-referrers/app-%ld", (long)getpid());
    registry_client_builder_new(envf(mode, "ADDR"), &b, NULL);
    registry_client_builder_build(b, &c, NULL);
    expect(registry_image_copy(c, "fixtures/app", "v1", c, repo, "v1", NULL, NULL, NULL, &subject, &err), &err,
           REGISTRY_STATUS_OK, "a subject");
    fd = mkstemp(file);
    CHECK(fd >= 0 && write(fd, "signature", 9) == 9, "artifact file");
    if (fd >= 0) close(fd);
    paths[0] = file;
    expect(registry_artifact_push(c, repo, NULL, sig_type, subject, paths, NULL, 1, &sig, &err), &err,
           REGISTRY_STATUS_OK, "push a signature");
    types[0] = "application/spdx+json";
    expect(registry_artifact_push(c, repo, "sbom", "application/spdx+json", subject, paths, types, 1, &sbom, &err),
           &err, REGISTRY_STATUS_OK, "push an sbom");
    expect(registry_referrers(c, repo, subject, NULL, &index, &err), &err, REGISTRY_STATUS_OK, "referrers");
    CHECK(index && buf_contains(index, sig) && buf_contains(index, sbom) && buf_contains(index, sig_type),
          "both referrers listed, with their type");
    registry_buf_free(index);
    index = NULL;
    expect(registry_referrers(c, repo, subject, sig_type, &index, &err), &err, REGISTRY_STATUS_OK, "filtered");
    CHECK(index && buf_contains(index, sig) && !buf_contains(index, sbom), "only the signature");
    registry_buf_free(index);
    index = NULL;
    expect(registry_referrers(c, repo, "sha256:nope", NULL, &index, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT,
           "bad digest");
    CHECK(index == NULL, "out-param untouched on failure");
    expect(registry_referrers(c, NULL, subject, NULL, &index, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL repo");
    expect(registry_artifact_push(c, repo, NULL, "no-slash", NULL, paths, NULL, 1, NULL, &err), &err,
           REGISTRY_STATUS_INVALID_ARGUMENT, "bad artifact type");
    expect(registry_artifact_push(c, repo, NULL, sig_type, NULL, NULL, NULL, 1, NULL, &err), &err,
           REGISTRY_STATUS_NULL_ARGUMENT, "NULL paths");
    paths[0] = "/nonexistent/file";
    expect(registry_artifact_push(c, repo, NULL, sig_type, NULL, paths, NULL, 1, NULL, &err), &err,
           REGISTRY_STATUS_IO, "missing file");
    expect(registry_artifact_push(c, repo, "empty", "application/x.empty", NULL, NULL, NULL, 0, NULL, &err), &err,
           REGISTRY_STATUS_OK, "an artifact without files");
    unlink(file);
    registry_string_free(subject);
    registry_string_free(sig);
    registry_string_free(sbom);
    registry_client_free(c);
}

/* v1 repositories as a whole (image lists, delete), ALREADY_EXISTS, and
 * the index's search pages. */
static void test_v1_repositories(const char *mode) {
    registry_client *c = client_for(mode, envf(mode, "USER"), envf(mode, "PASS"));
    registry_client *v2 = client_for("anon", NULL, NULL);
    registry_error *err = NULL;
    registry_list *list = NULL;
    registry_buf *buf = NULL;
    registry_status st;
    char *s = NULL, *sum = NULL;
    const char *image = env("REGISTRY_TEST_V1_IMAGE_ID"), *parent = env("REGISTRY_TEST_V1_PARENT_ID");
    const char *checksum = env("REGISTRY_TEST_V1_CHECKSUM");
    char repo[64], id[65], json[256], images[512], want[256];
    uint8_t data[5000];
    struct source src = {data, sizeof data, 0, 0, 0};
    size_t i;

    fprintf(stderr, "# C v1 repositories, %s mode\n", mode);
    expect(registry_v1_repository_images(c, "fixtures/v1app", &buf, &err), &err, REGISTRY_STATUS_OK, "repo images");
    s = buf_string(buf);
    CHECK(s[0] == '[' && strstr(s, image) && strstr(s, parent) && strstr(s, checksum), "image list %s", s);
    free(s);
    buf = NULL;
    expect(registry_v1_repository_images(c, "c/no-such-repo", &buf, &err), &err, REGISTRY_STATUS_NOT_FOUND, "no repo");
    expect(registry_v1_repository_images(c, NULL, &buf, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL repo");
    expect(registry_v1_repository_images(c, "fixtures/v1app", NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL out");
    CHECK(buf == NULL, "out untouched on failure");

    /* moby's push: the list (creates the repository), the image, the tag,
     * the list with checksums; then the repository goes. */
    snprintf(repo, sizeof repo, "c/repo-%d-%s", (int)getpid(), mode);
    snprintf(id, sizeof id, "%016x%016x%016x%016x", (unsigned)getpid(), (unsigned)strlen(mode), 0xbeefu, 3u);
    snprintf(json, sizeof json, "{\"id\":\"%s\",\"parent\":\"%s\"}", id, parent);
    for (i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 7 + mode[1]);
    snprintf(images, sizeof images, "[{\"id\":\"%s\"}]", id);
    expect(registry_v1_repository_put(c, repo, images, &err), &err, REGISTRY_STATUS_OK, "repository put");
    expect(registry_v1_repo_image_json_put(c, repo, id, json, &err), &err, REGISTRY_STATUS_OK, "json put");
    expect(registry_layer_put(c, repo, id, read_source, &src, &sum, &err), &err, REGISTRY_STATUS_OK, "layer put");
    expect(registry_set_tag(c, repo, id, "v1", &err), &err, REGISTRY_STATUS_OK, "set tag");
    st = registry_v1_repo_image_json_put(c, repo, id, json, &err);
    CHECK(st == REGISTRY_STATUS_ALREADY_EXISTS && err && registry_error_status(err) == REGISTRY_STATUS_ALREADY_EXISTS &&
          registry_error_http_status(err) == 409, "the image again: %s", registry_status_name(st));
    registry_error_free(err);
    err = NULL;
    snprintf(images, sizeof images, "[{\"id\":\"%s\",\"checksum\":\"%s\"},{\"id\":\"%s\"}]", id,
             sum ? sum : "", parent);
    expect(registry_v1_repository_images_put(c, repo, images, &err), &err, REGISTRY_STATUS_OK, "images put");
    expect(registry_v1_repository_images(c, repo, &buf, &err), &err, REGISTRY_STATUS_OK, "images back");
    s = buf_string(buf);
    snprintf(want, sizeof want, "[{\"id\":\"%s\",\"checksum\":\"%s\"}]", id, sum ? sum : "");
    CHECK(strcmp(s, want) == 0, "only the checksummed entry was sent: %s", s);
    free(s);
    registry_string_free(sum);
    expect(registry_v1_repository_images_put(c, repo, "{\"id\":1}", &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT,
           "not a list");
    expect(registry_v1_repository_images_put(c, repo, "[{\"id\":\"abc\",\"checksum\":\"sha256:0\"}]", &err), &err,
           REGISTRY_STATUS_INVALID_ARGUMENT, "bad id");
    expect(registry_v1_repository_images_put(c, repo, NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL json");
    expect(registry_v1_repository_put(c, repo, "[1]", &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "bad list");
    expect(registry_v1_repository_delete(c, repo, &err), &err, REGISTRY_STATUS_OK, "repository delete");
    expect(registry_tags(c, repo, &list, &err), &err, REGISTRY_STATUS_NOT_FOUND, "deleted repository");
    expect(registry_v1_repository_delete(c, repo, &err), &err, REGISTRY_STATUS_NOT_FOUND, "delete again");
    expect(registry_v1_repository_delete(NULL, repo, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "delete NULL");
    expect(registry_tags(c, "fixtures/v1app", &list, &err), &err, REGISTRY_STATUS_OK, "the fixture stays");
    registry_list_free(list);

    /* The index's search pages. */
    expect(registry_search_page(c, "busybox", 1, 0, &buf, &err), &err, REGISTRY_STATUS_OK, "v1 search page");
    s = buf_string(buf);
    CHECK(strstr(s, "\"num_results\":1,\"num_pages\":1,\"page_size\":25,\"page\":1,") &&
          strstr(s, "\"is_official\":true") && strstr(s, "\"is_trusted\":false") && strstr(s, "\"star_count\":15"),
          "v1 search page %s", s);
    free(s);
    buf = NULL;
    expect(registry_search_page(c, "", 0, 10, &buf, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "page 0");

    /* v1 only. */
    expect(registry_v1_repository_images(v2, "fixtures/app", &buf, &err), &err, REGISTRY_STATUS_UNSUPPORTED, "v2 images");
    expect(registry_v1_repository_put(v2, "fixtures/app", NULL, &err), &err, REGISTRY_STATUS_UNSUPPORTED, "v2 put");
    expect(registry_v1_repository_delete(v2, "fixtures/app", &err), &err, REGISTRY_STATUS_UNSUPPORTED, "v2 delete");
    registry_client_free(v2);
    registry_client_free(c);
}

/* A client for `mode` (its CA and user, if any) sending User-Agent `ua`, to
 * find its requests in the registry's access log. */
static registry_client *client_with_ua(const char *mode, const char *ua) {
    registry_client_builder *b = NULL;
    registry_client *c = NULL;
    registry_error *err = NULL;
    expect(registry_client_builder_new(envf(mode, "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "builder_new");
    if (envf(mode, "CA"))
        expect(registry_client_builder_ca_file(b, envf(mode, "CA"), &err), &err, REGISTRY_STATUS_OK, "ca_file");
    if (envf(mode, "USER"))
        expect(registry_client_builder_basic_auth(b, envf(mode, "USER"), envf(mode, "PASS"), &err), &err,
               REGISTRY_STATUS_OK, "basic_auth");
    expect(registry_client_builder_user_agent(b, ua, &err), &err, REGISTRY_STATUS_OK, "ua");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build");
    return c;
}

/* How many requests of `mode`'s access log came with User-Agent `ua` and
 * contain `what` (e.g. "\"HEAD /v2/x/manifests/"), those answered 401 (a
 * token registry's challenge) aside. */
static int log_count(const char *mode, const char *ua, const char *what) {
    static char line[65536];
    char tail[200];
    int n = 0;
    FILE *f = fopen(envf(mode, "LOG"), "r");
    CHECK(f != NULL, "open %s's log", mode);
    if (!f) return -1;
    snprintf(tail, sizeof tail, "\"%s\"\n", ua);
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line), tl = strlen(tail);
        if (len >= tl && strcmp(line + len - tl, tail) == 0 && strstr(line, what) && !strstr(line, "\" 401 ")) n++;
    }
    fclose(f);
    return n;
}

/* Reads a whole small file into a new buffer (free()); its length in *len. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    uint8_t *data = malloc(1 << 20);
    *len = f ? fread(data, 1, 1 << 20, f) : 0;
    if (f) fclose(f);
    return data;
}

/* What the Rust API tells beyond the first calls: ping detail, the v1 tag
 * map, an image id for a platform, the catalog, CA certificates from memory,
 * identity-token credentials. */
static void test_bindings_parity(void) {
    registry_client *anon = client_for("anon", NULL, NULL);
    registry_client *v1 = client_for("v1", envf("v1", "USER"), envf("v1", "PASS"));
    registry_client_builder *b = NULL;
    registry_client *c = NULL;
    registry_error *err = NULL;
    registry_buf *buf = NULL;
    registry_list *list = NULL;
    char *s = NULL, *json = NULL, want[256];
    uint8_t *pem;
    size_t pem_len, i;
    uint32_t api = 0;
    int found;

    fprintf(stderr, "# C ping_info, v1_tags, image_id_for, catalog, ca_pem, identity_token\n");
    expect(registry_ping_info(anon, &buf, &err), &err, REGISTRY_STATUS_OK, "ping_info v2");
    json = buf_string(buf);
    CHECK(strstr(json, "\"api\":\"v2\"") && strstr(json, "\"api_version_header\":\"registry/2.0\"") &&
          strstr(json, "\"standalone\":null"), "v2 ping info: %s", json);
    free(json);
    expect(registry_ping_info(v1, &buf, &err), &err, REGISTRY_STATUS_OK, "ping_info v1");
    json = buf_string(buf);
    CHECK(strstr(json, "\"api\":\"v1\"") && strstr(json, "\"standalone\":false"), "v1 ping info: %s", json);
    free(json);
    buf = NULL;
    expect(registry_ping_info(anon, NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "ping_info NULL out");
    expect(registry_ping_info(NULL, &buf, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "ping_info NULL client");
    CHECK(buf == NULL, "out untouched");

    expect(registry_v1_tags(v1, "fixtures/v1app", &buf, &err), &err, REGISTRY_STATUS_OK, "v1_tags");
    json = buf_string(buf);
    snprintf(want, sizeof want, "\"latest\":\"%s\"", env("REGISTRY_TEST_V1_IMAGE_ID"));
    CHECK(strstr(json, want) != NULL, "v1 tag map %s has %s", json, want);
    snprintf(want, sizeof want, "\"base\":\"%s\"", env("REGISTRY_TEST_V1_PARENT_ID"));
    CHECK(strstr(json, want) != NULL, "v1 tag map %s has %s", json, want);
    free(json);
    buf = NULL;
    expect(registry_v1_tags(anon, "fixtures/app", &buf, &err), &err, REGISTRY_STATUS_UNSUPPORTED, "v1_tags on v2");
    expect(registry_v1_tags(v1, "fixtures/none", &buf, &err), &err, REGISTRY_STATUS_NOT_FOUND, "v1_tags, no repo");
    CHECK(buf == NULL, "out untouched");

    expect(registry_image_id_for(anon, "fixtures/multi", "latest", "linux/arm64", &s, &err), &err, REGISTRY_STATUS_OK,
           "image_id_for arm64");
    CHECK(s && strcmp(s, env("REGISTRY_TEST_ARM64_IMAGE_ID")) == 0, "arm64 image id %s", s ? s : "(null)");
    registry_string_free(s);
    s = NULL;
    expect(registry_image_id_for(anon, "fixtures/multi", "latest", "linux/amd64", &s, &err), &err, REGISTRY_STATUS_OK,
           "image_id_for amd64");
    CHECK(s && strcmp(s, env("REGISTRY_TEST_IMAGE_ID")) == 0, "amd64 image id %s", s ? s : "(null)");
    registry_string_free(s);
    s = NULL;
    expect(registry_image_id_for(anon, "fixtures/multi", "latest", "linux/s390x", &s, &err), &err,
           REGISTRY_STATUS_NOT_FOUND, "image_id_for, no such platform");
    expect(registry_image_id_for(anon, "fixtures/multi", "latest", "linux", &s, &err), &err,
           REGISTRY_STATUS_INVALID_ARGUMENT, "image_id_for, bad platform");
    expect(registry_image_id_for(anon, "fixtures/multi", "latest", NULL, &s, &err), &err,
           REGISTRY_STATUS_NULL_ARGUMENT, "image_id_for, NULL platform");
    CHECK(s == NULL, "out untouched");

    expect(registry_catalog(anon, &list, &err), &err, REGISTRY_STATUS_OK, "catalog");
    for (found = 0, i = 0; i < registry_list_len(list); i++)
        found += strcmp(registry_list_get(list, i), "fixtures/app") == 0;
    CHECK(found == 1, "the catalog lists fixtures/app once");
    registry_list_free(list);
    list = NULL;
    expect(registry_catalog(v1, &list, &err), &err, REGISTRY_STATUS_UNSUPPORTED, "catalog on v1");

    /* The tls registry's CA, from memory. */
    pem = read_file(envf("tls", "CA"), &pem_len);
    CHECK(pem_len > 100, "read the CA");
    expect(registry_client_builder_new(envf("tls", "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_client_builder_ca_pem(b, pem, pem_len, &err), &err, REGISTRY_STATUS_OK, "ca_pem");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build with ca_pem");
    expect(registry_ping(c, &api, &err), &err, REGISTRY_STATUS_OK, "ping trusting the CA from memory");
    registry_client_free(c);
    c = NULL;
    expect(registry_client_builder_new(envf("tls", "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_client_builder_ca_pem(b, NULL, 5, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "ca_pem NULL, 5");
    expect(registry_client_builder_ca_pem(b, (const uint8_t *)"not a pem", 9, &err), &err, REGISTRY_STATUS_OK,
           "ca_pem garbage (read at build)");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "build, no certificate");
    CHECK(c == NULL, "out untouched");
    free(pem);

    /* The fixture token server's refresh token for alice. */
    expect(registry_client_builder_new(envf("token", "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_client_builder_ca_file(b, envf("token", "CA"), &err), &err, REGISTRY_STATUS_OK, "ca");
    expect(registry_client_builder_identity_token(b, NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT,
           "identity_token NULL");
    expect(registry_client_builder_identity_token(b, env("REGISTRY_TEST_TOKEN_REFRESH"), &err), &err,
           REGISTRY_STATUS_OK, "identity_token");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build with identity token");
    expect(registry_tags(c, "fixtures/app", &list, &err), &err, REGISTRY_STATUS_OK, "tags with an identity token");
    CHECK(registry_list_len(list) == 2, "two tags");
    registry_list_free(list);
    list = NULL;
    registry_client_free(c);
    c = NULL;
    expect(registry_client_builder_new(envf("token", "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_client_builder_ca_file(b, envf("token", "CA"), &err), &err, REGISTRY_STATUS_OK, "ca");
    expect(registry_client_builder_identity_token(b, "wrong-refresh-t0ken", &err), &err, REGISTRY_STATUS_OK,
           "identity_token (wrong)");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build");
    CHECK(registry_tags(c, "fixtures/app", &list, &err) == REGISTRY_STATUS_UNAUTHORIZED, "a wrong refresh token");
    CHECK(err && !strstr(registry_error_message(err), "wrong-refresh-t0ken"), "the token is not in the message: %s",
          err ? registry_error_message(err) : "(no error)");
    registry_error_free(err);
    err = NULL;
    registry_client_free(c);
    registry_client_free(anon);
    registry_client_free(v1);
}

/* imgpkg's batches: the first image that exists (HEADs only, proven by the
 * access log), and every image of a layout pushed at once. */
static void test_batches(void) {
    char ua[64], what[256], dir[] = "/tmp/registry-c-batch-XXXXXX", path[512], *d = NULL, *app = NULL;
    const char *m1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const char *m2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const char *index = env("REGISTRY_TEST_INDEX_DIGEST"), *layer = env("REGISTRY_TEST_LAYER_DIGEST");
    const char *digests[4], *bad[2];
    registry_client *anon, *token;
    registry_error *err = NULL;
    registry_list *list = NULL;
    struct reports r;

    fprintf(stderr, "# C first_image_exists, image_push_all\n");
    snprintf(ua, sizeof ua, "registry-c-batches-%d", (int)getpid());
    anon = client_with_ua("anon", ua);
    token = client_with_ua("token", ua);
    expect(registry_manifest_head(anon, "fixtures/app", "v1", &app, NULL, NULL, &err), &err, REGISTRY_STATUS_OK,
           "head app");
    digests[0] = m1;
    digests[1] = m2;
    digests[2] = app;
    digests[3] = index; /* exists in fixtures/multi only, and is never asked for */
    expect(registry_first_image_exists(anon, "fixtures/app", digests, 4, &d, &err), &err, REGISTRY_STATUS_OK,
           "first_image_exists");
    CHECK(d && app && strcmp(d, app) == 0, "found %s", d ? d : "(null)");
    registry_string_free(d);
    d = NULL;
    CHECK(log_count("anon", ua, "\"HEAD /v2/fixtures/app/manifests/sha256:") == 3, "three HEADs");
    CHECK(log_count("anon", ua, "\"GET /v2/fixtures/") == 0, "no GET");
    snprintf(what, sizeof what, "\"HEAD /v2/fixtures/app/manifests/%s", index);
    CHECK(log_count("anon", ua, what) == 0, "the search stopped at the first found");
    expect(registry_first_image_exists(anon, "fixtures/app", digests, 2, &d, &err), &err, REGISTRY_STATUS_NOT_FOUND,
           "none exists");
    expect(registry_first_image_exists(anon, "fixtures/app", NULL, 0, &d, &err), &err, REGISTRY_STATUS_NOT_FOUND,
           "no digests");
    expect(registry_first_image_exists(anon, "fixtures/app", NULL, 2, &d, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT,
           "NULL digests");
    bad[0] = app;
    bad[1] = NULL;
    expect(registry_first_image_exists(anon, "fixtures/app", bad, 2, &d, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT,
           "a NULL digest");
    bad[1] = "sha256:nothex";
    expect(registry_first_image_exists(anon, "fixtures/app", bad, 2, &d, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT,
           "a malformed digest");
    expect(registry_first_image_exists(anon, "fixtures/app", digests, 4, NULL, &err), &err,
           REGISTRY_STATUS_NULL_ARGUMENT, "NULL digest_out");
    CHECK(d == NULL, "out untouched");

    /* A layout of app:v1 ("v1") and multi:latest ("latest"), which share their layer. */
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    expect(registry_image_pull(anon, "fixtures/app", "v1", NULL, dir, NULL, NULL, NULL, &err), &err, REGISTRY_STATUS_OK,
           "pull app");
    expect(registry_image_pull(anon, "fixtures/multi", "latest", NULL, dir, NULL, NULL, NULL, &err), &err,
           REGISTRY_STATUS_OK, "pull multi");
    memset(&r, 0, sizeof r);
    r.caller = pthread_self();
    expect(registry_image_push_all(token, dir, "c/all", on_progress, &r, &list, &err), &err, REGISTRY_STATUS_OK,
           "push_all");
    CHECK(registry_list_len(list) == 2, "two images pushed");
    snprintf(what, sizeof what, "v1 %s", app);
    CHECK(registry_list_get(list, 0) && strcmp(registry_list_get(list, 0), what) == 0, "first line %s",
          registry_list_get(list, 0) ? registry_list_get(list, 0) : "(null)");
    snprintf(what, sizeof what, "latest %s", index);
    CHECK(registry_list_get(list, 1) && strcmp(registry_list_get(list, 1), what) == 0, "second line %s",
          registry_list_get(list, 1) ? registry_list_get(list, 1) : "(null)");
    registry_list_free(list);
    list = NULL;
    CHECK(r.off_thread == 0 && r.zeros >= 7, "one progress stream: %d zeros", r.zeros);
    snprintf(what, sizeof what, "\"HEAD /v2/c/all/blobs/%s", layer);
    CHECK(log_count("token", ua, what) == 1, "the shared layer is asked for once");
    expect(registry_manifest_head(token, "c/all", "v1", &d, NULL, NULL, &err), &err, REGISTRY_STATUS_OK, "head c/all:v1");
    CHECK(d && strcmp(d, app) == 0, "c/all:v1 is the app");
    registry_string_free(d);
    d = NULL;
    expect(registry_image_push_all(token, dir, "c/all2", NULL, NULL, NULL, &err), &err, REGISTRY_STATUS_OK,
           "push_all, no out-param");
    expect(registry_image_push_all(token, "/nonexistent/layout", "c/all", NULL, NULL, &list, &err), &err,
           REGISTRY_STATUS_IO, "push_all, no layout");
    expect(registry_image_push_all(token, dir, NULL, NULL, NULL, &list, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT,
           "push_all, NULL repo");
    CHECK(list == NULL, "out untouched");
    /* An entry without a name is refused before anything is sent. */
    snprintf(path, sizeof path,
             "python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); "
             "[e.pop(\"annotations\") for e in d[\"manifests\"]]; json.dump(d, open(p, \"w\"))' '%s/index.json'",
             dir);
    CHECK(system(path) == 0, "unname the entries");
    expect(registry_image_push_all(token, dir, "c/unnamed", NULL, NULL, &list, &err), &err,
           REGISTRY_STATUS_INVALID_ARGUMENT, "push_all, unnamed entries");
    CHECK(log_count("token", ua, "/v2/c/unnamed/") == 0, "nothing sent for a refused layout");

    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK(system(path) == 0, "cleanup");
    registry_string_free(app);
    registry_client_free(anon);
    registry_client_free(token);
}

/* Transfer options: platform subsets and referrers carried by a pull and
 * a copy (anon, the fallback tag, to ferro, the referrers API). */
static void test_transfer_options(void) {
    registry_client *anon = client_for("anon", NULL, NULL), *ferro = client_for("ferro", NULL, NULL);
    registry_transfer_options *o = NULL;
    registry_error *err = NULL;
    registry_buf *index = NULL;
    char repo[128], dst[128], dir[] = "/tmp/registry-c-transfer-XXXXXX", cmd[512];
    char file[] = "/tmp/registry-c-transfer-file-XXXXXX", *subject = NULL, *sig = NULL, *d = NULL;
    const char *paths[1];
    int fd;

    fprintf(stderr, "# C transfer options\n");
    registry_transfer_options_free(NULL);
    expect(registry_transfer_options_new(NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "new(NULL)");
    expect(registry_transfer_options_new(&o, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_transfer_options_platform(o, "linux", &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT, "bad platform");
    expect(registry_transfer_options_platform(o, NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL platform");
    expect(registry_transfer_options_platform(o, "linux/amd64", &err), &err, REGISTRY_STATUS_OK, "amd64");
    expect(registry_transfer_options_platform(o, "linux/arm64", &err), &err, REGISTRY_STATUS_OK, "arm64");
    expect(registry_transfer_options_referrers(o, true, &err), &err, REGISTRY_STATUS_OK, "referrers");

    /* Two platforms: a new index, pulled. */
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    expect(registry_image_pull_with(anon, "fixtures/multi", "latest", o, dir, NULL, NULL, &d, &err), &err,
           REGISTRY_STATUS_OK, "pull_with two platforms");
    CHECK(d && strcmp(d, env("REGISTRY_TEST_INDEX_DIGEST")) != 0, "a new index: %s", d ? d : "(null)");
    registry_string_free(d);
    d = NULL;

    /* A signed image copied with its signature. */
    snprintf(repo, sizeof repo, "c-transfer/app-%ld", (long)getpid());
    snprintf(dst, sizeof dst, "c-transfer/copied-%ld", (long)getpid());
    expect(registry_image_copy(anon, "fixtures/oci", "v1", anon, repo, "v1", NULL, NULL, NULL, &subject, &err), &err,
           REGISTRY_STATUS_OK, "a subject");
    fd = mkstemp(file);
    CHECK(fd >= 0 && write(fd, "sig", 3) == 3, "file");
    if (fd >= 0) close(fd);
    paths[0] = file;
    expect(registry_artifact_push(anon, repo, NULL, "application/x.sig", subject, paths, NULL, 1, &sig, &err), &err,
           REGISTRY_STATUS_OK, "a signature");
    registry_transfer_options_free(o);
    expect(registry_transfer_options_new(&o, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_transfer_options_referrers(o, true, &err), &err, REGISTRY_STATUS_OK, "referrers");
    expect(registry_image_copy_with(anon, repo, "v1", ferro, dst, NULL, o, NULL, NULL, &d, &err), &err,
           REGISTRY_STATUS_OK, "copy_with referrers");
    CHECK(d && subject && strcmp(d, subject) == 0, "the same image");
    expect(registry_referrers(ferro, dst, subject, NULL, &index, &err), &err, REGISTRY_STATUS_OK, "referrers there");
    CHECK(index && sig && buf_contains(index, sig), "the signature came along");
    registry_buf_free(index);
    index = NULL;
    expect(registry_image_copy_with(anon, repo, "v1", ferro, "c-transfer/none", NULL, NULL, NULL, NULL, NULL, &err),
           &err, REGISTRY_STATUS_OK, "copy_with NULL options");
    expect(registry_referrers(ferro, "c-transfer/none", subject, NULL, &index, &err), &err, REGISTRY_STATUS_OK, "none");
    CHECK(index && !buf_contains(index, sig), "no referrers without the option");
    registry_buf_free(index);

    unlink(file);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "cleanup");
    registry_string_free(d);
    registry_string_free(subject);
    registry_string_free(sig);
    registry_transfer_options_free(o);
    registry_client_free(anon);
    registry_client_free(ferro);
}

/* Rate limits: the builder setting, and Docker Hub's headers read by a HEAD
 * (the fixture's Hub-like server sends them; distribution sends none). */
static void buf_equals(const registry_buf *buf, const char *want, const char *what) {
    size_t n = registry_buf_len(buf);
    CHECK(buf && n == strlen(want) && memcmp(registry_buf_data(buf), want, n) == 0, "%s: got %.*s, want %s",
          what, (int)n, buf ? (const char *)registry_buf_data(buf) : "", want);
}

static void test_rate_limits(void) {
    registry_client_builder *b = NULL;
    registry_client *c = NULL;
    registry_error *err = NULL;
    registry_buf *json = NULL, *untouched = (registry_buf *)&json;
    registry_list *tags = NULL;
    char url[256];
    int i;

    fprintf(stderr, "# C rate limits\n");
    expect(registry_client_builder_rate_limit(NULL, 5, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL builder");
    /* 0 (no limit) and a limit both build a working client. */
    expect(registry_client_builder_new(envf("anon", "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_client_builder_rate_limit(b, 0, &err), &err, REGISTRY_STATUS_OK, "rate_limit 0");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build");
    expect(registry_tags(c, "fixtures/app", &tags, &err), &err, REGISTRY_STATUS_OK, "tags, no limit");
    registry_list_free(tags);
    tags = NULL;
    /* distribution sends no rate-limit headers: the answer is JSON null. */
    expect(registry_rate_limit_status(c, &json, &err), &err, REGISTRY_STATUS_OK, "status before");
    buf_equals(json, "null", "nothing seen");
    registry_buf_free(json);
    json = NULL;
    expect(registry_rate_limit_check(c, "fixtures/app", "v1", &json, &err), &err, REGISTRY_STATUS_OK, "check");
    buf_equals(json, "null", "no headers from distribution");
    registry_buf_free(json);
    json = untouched;
    expect(registry_rate_limit_check(c, "fixtures/app", "nope", &json, &err), &err, REGISTRY_STATUS_NOT_FOUND,
           "check of a missing manifest");
    CHECK(json == untouched, "out-param untouched on failure");
    expect(registry_rate_limit_check(c, NULL, "v1", &json, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL repo");
    expect(registry_rate_limit_check(c, "fixtures/app", "v1", NULL, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT,
           "NULL out");
    expect(registry_rate_limit_check(c, "Bad Repo", "v1", &json, &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT,
           "bad repo");
    expect(registry_rate_limit_status(NULL, &json, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL client");
    registry_client_free(c);

    expect(registry_client_builder_new(envf("anon", "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "new");
    expect(registry_client_builder_rate_limit(b, 50, &err), &err, REGISTRY_STATUS_OK, "rate_limit 50");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build");
    for (i = 0; i < 3; i++) {
        expect(registry_tags(c, "fixtures/app", &tags, &err), &err, REGISTRY_STATUS_OK, "tags at 50/s");
        CHECK(registry_list_len(tags) == 2, "two tags");
        registry_list_free(tags);
        tags = NULL;
    }
    registry_client_free(c);

    /* The Hub-like server: HEADs are free, so remaining stays 76. */
    snprintf(url, sizeof url, "http://%s", env("REGISTRY_TEST_HUB_ADDR"));
    expect(registry_client_builder_new(url, &b, &err), &err, REGISTRY_STATUS_OK, "new hub");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build hub");
    expect(registry_rate_limit_check(c, "library/alpine", "latest", &json, &err), &err, REGISTRY_STATUS_OK,
           "hub check");
    buf_equals(json, "{\"limit\":100,\"remaining\":76,\"window_seconds\":21600,\"source\":\"127.0.0.1\"}",
               "hub headers");
    registry_buf_free(json);
    json = NULL;
    expect(registry_rate_limit_status(c, &json, &err), &err, REGISTRY_STATUS_OK, "hub status");
    CHECK(buf_contains(json, "\"remaining\":76"), "the last status seen");
    registry_buf_free(json);
    registry_client_free(c);
}

static int32_t count_progress(void *userdata, const char *digest, uint64_t done, uint64_t total) {
    (void)digest;
    (void)done;
    (void)total;
    (*(int *)userdata)++;
    return 0;
}

/* registry_sync: distribution (anon) to ferro; a tag that fails is reported
 * and the others copied; the second run skips them all. */
static void test_sync(void) {
    registry_client *src = NULL, *dst = NULL;
    registry_client_builder *b = NULL;
    registry_error *err = NULL;
    registry_buf *report = NULL;
    registry_transfer_options *opts = NULL;
    char repo[128], dst_repo[128], *v1 = NULL, *v2 = NULL;
    const char *tags[] = {"v1", "gone", "v2"};
    const char *null_tag[] = {"v1", NULL};
    const char *bad_tag[] = {"no:good"};
    int reports = 0;

    fprintf(stderr, "# C sync\n");
    if (!envf("ferro", "ADDR")) {
        fprintf(stderr, "REGISTRY_TEST_FERRO_ADDR is not set\n");
        failed++;
        return;
    }
    snprintf(repo, sizeof repo, "c-sync/src-%ld", (long)getpid());
    snprintf(dst_repo, sizeof dst_repo, "c-sync/dst-%ld", (long)getpid());
    registry_client_builder_new(envf("anon", "ADDR"), &b, NULL);
    registry_client_builder_build(b, &src, NULL);
    registry_client_builder_new(envf("ferro", "ADDR"), &b, NULL);
    registry_client_builder_build(b, &dst, NULL);
    expect(registry_image_copy(src, "fixtures/app", "v1", src, repo, "v1", NULL, NULL, NULL, &v1, &err), &err,
           REGISTRY_STATUS_OK, "tag v1");
    expect(registry_image_copy(src, "fixtures/app", "v2", src, repo, "v2", NULL, NULL, NULL, &v2, &err), &err,
           REGISTRY_STATUS_OK, "tag v2");

    expect(registry_sync(src, repo, dst, dst_repo, tags, 3, NULL, count_progress, &reports, &report, &err), &err,
           REGISTRY_STATUS_OK, "sync three tags");
    CHECK(report && buf_contains(report, "\"copied\":[{\"tag\":\"v1\"") && buf_contains(report, v1) &&
              buf_contains(report, v2),
          "v1 and v2 copied with their digests");
    CHECK(report && buf_contains(report, "\"failed\":[{\"tag\":\"gone\",\"status\":\"NOT_FOUND\""),
          "the missing tag failed, NOT_FOUND");
    CHECK(report && buf_contains(report, "\"skipped\":[]"), "nothing skipped");
    CHECK(reports > 0, "progress heard the copy");
    registry_buf_free(report);
    report = NULL;

    /* Every tag (NULL), with options: both already there. */
    expect(registry_transfer_options_new(&opts, &err), &err, REGISTRY_STATUS_OK, "options");
    expect(registry_transfer_options_referrers(opts, true, &err), &err, REGISTRY_STATUS_OK, "referrers");
    expect(registry_sync(src, repo, dst, dst_repo, NULL, 0, opts, NULL, NULL, &report, &err), &err,
           REGISTRY_STATUS_OK, "sync again");
    CHECK(report && buf_contains(report, "\"copied\":[]") && buf_contains(report, "\"failed\":[]") &&
              buf_contains(report, "{\"tag\":\"v1\",\"digest\":\"") && buf_contains(report, v2),
          "both skipped");
    registry_buf_free(report);
    report = NULL;

    expect(registry_sync(NULL, repo, dst, dst_repo, NULL, 0, NULL, NULL, NULL, &report, &err), &err,
           REGISTRY_STATUS_NULL_ARGUMENT, "NULL src");
    expect(registry_sync(src, repo, dst, dst_repo, null_tag, 2, NULL, NULL, NULL, &report, &err), &err,
           REGISTRY_STATUS_NULL_ARGUMENT, "a NULL tag");
    expect(registry_sync(src, repo, dst, dst_repo, bad_tag, 1, NULL, NULL, NULL, &report, &err), &err,
           REGISTRY_STATUS_INVALID_ARGUMENT, "a malformed tag");
    expect(registry_sync(src, "Bad Repo", dst, dst_repo, NULL, 0, NULL, NULL, NULL, &report, &err), &err,
           REGISTRY_STATUS_INVALID_ARGUMENT, "a malformed repo");
    CHECK(report == NULL, "out-param untouched on failure");
    expect(registry_sync(src, "c-sync/none", dst, dst_repo, NULL, 0, NULL, NULL, NULL, &report, &err), &err,
           REGISTRY_STATUS_NOT_FOUND, "nothing to list");
    CHECK(report == NULL, "out-param untouched on failure");

    registry_transfer_options_free(opts);
    registry_string_free(v1);
    registry_string_free(v2);
    registry_client_free(src);
    registry_client_free(dst);
}

/* Reads `cmd`'s whole output into out (NUL-terminated); its exit status. */
static int run_capture(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    size_t n = 0, got;
    if (!p) return -1;
    while (n + 1 < cap && (got = fread(out + n, 1, cap - 1 - n, p)) > 0) n += got;
    out[n] = 0;
    return pclose(p);
}

/* Image archives (issue 22): docker-archive and oci-archive, read back by
 * skopeo's docker-archive: and oci-archive: transports; several images in
 * one docker-archive; failures and cancels leave no file. */
static void test_archives(void) {
    registry_client *anon = client_for("anon", NULL, NULL);
    registry_client *token = client_for("token", envf("token", "USER"), envf("token", "PASS"));
    registry_error *err = NULL;
    registry_transfer_options *o = NULL;
    registry_list *list = NULL;
    char dir[] = "/tmp/registry-c-archive-XXXXXX";
    char path[512], cmd[1400], out[8192], want[256], *d = NULL;
    struct reports r;
    struct stat st;
    const char *image_id = env("REGISTRY_TEST_IMAGE_ID"), *index = env("REGISTRY_TEST_INDEX_DIGEST");
    const char *repos[] = {"fixtures/app", "fixtures/multi"}, *refs[] = {"v1", "latest"};

    fprintf(stderr, "# C image archives\n");
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");

    /* docker-archive, with progress; its manifest.json and config. */
    snprintf(path, sizeof path, "%s/app.tar", dir);
    memset(&r, 0, sizeof r);
    r.caller = pthread_self();
    expect(registry_image_pull_archive(token, "fixtures/app", "v1", NULL, path, "docker-archive", on_progress, &r, &d,
                                       &err),
           &err, REGISTRY_STATUS_OK, "pull docker-archive");
    CHECK(d && strncmp(d, "sha256:", 7) == 0, "digest out %s", d ? d : "(null)");
    registry_string_free(d);
    d = NULL;
    CHECK(r.off_thread == 0 && r.zeros >= 2 && r.finals >= 2, "config and layer reported: %d zeros, %d finals", r.zeros,
          r.finals);
    snprintf(cmd, sizeof cmd, "tar -xOf %s manifest.json", path);
    CHECK(run_capture(cmd, out, sizeof out) == 0, "tar reads manifest.json");
    snprintf(want, sizeof want, "\"Config\":\"%s.json\"", image_id + 7);
    CHECK(strstr(out, want) != NULL, "manifest.json names the config: %s", out);
    snprintf(want, sizeof want, "\"RepoTags\":[\"%s/fixtures/app:v1\"]", envf("token", "ADDR"));
    CHECK(strstr(out, want) != NULL, "manifest.json has the RepoTags: %s", out);
    snprintf(cmd, sizeof cmd, "skopeo --insecure-policy copy --quiet docker-archive:%s dir:%s/app-dir && "
             "sha256sum %s/app-dir/manifest.json >/dev/null && grep -o '%s' %s/app-dir/manifest.json",
             path, dir, dir, image_id, dir);
    CHECK(run_capture(cmd, out, sizeof out) == 0 && strstr(out, image_id), "skopeo reads the docker-archive: %s", out);

    /* oci-archive of two platforms of an index: a new index; skopeo reads it whole. */
    expect(registry_transfer_options_new(&o, &err), &err, REGISTRY_STATUS_OK, "options");
    expect(registry_transfer_options_platform(o, "linux/amd64", &err), &err, REGISTRY_STATUS_OK, "amd64");
    expect(registry_transfer_options_platform(o, "linux/arm64", &err), &err, REGISTRY_STATUS_OK, "arm64");
    snprintf(path, sizeof path, "%s/multi.tar", dir);
    expect(registry_image_pull_archive(anon, "fixtures/multi", "latest", NULL, path, "oci-archive", NULL, NULL, &d,
                                       &err),
           &err, REGISTRY_STATUS_OK, "pull oci-archive");
    CHECK(d && strcmp(d, index) == 0, "the whole index, digest kept: %s", d ? d : "(null)");
    registry_string_free(d);
    d = NULL;
    snprintf(cmd, sizeof cmd, "skopeo --insecure-policy copy --quiet --all --preserve-digests oci-archive:%s oci:%s/multi-oci:x"
             " && skopeo inspect --raw oci:%s/multi-oci:x | sha256sum", path, dir, dir);
    CHECK(run_capture(cmd, out, sizeof out) == 0 && strstr(out, index + 7), "skopeo reads the oci-archive: %s", out);
    expect(registry_image_pull_archive(anon, "fixtures/multi", "latest", o, path, "oci-archive", NULL, NULL, &d, &err),
           &err, REGISTRY_STATUS_OK, "pull oci-archive, two platforms");
    CHECK(d && strcmp(d, index) != 0, "two platforms make a new index");
    registry_string_free(d);
    d = NULL;
    /* ...which a docker-archive cannot hold. */
    snprintf(path, sizeof path, "%s/refused.tar", dir);
    expect(registry_image_pull_archive(anon, "fixtures/multi", "latest", o, path, "docker-archive", NULL, NULL, &d, &err),
           &err, REGISTRY_STATUS_INVALID_ARGUMENT, "two platforms in a docker-archive");
    registry_transfer_options_free(o);
    o = NULL;

    /* Several images into one docker-archive. */
    snprintf(path, sizeof path, "%s/saved.tar", dir);
    expect(registry_image_save(anon, repos, refs, 2, NULL, path, NULL, NULL, &list, &err), &err, REGISTRY_STATUS_OK,
           "save");
    CHECK(list && registry_list_len(list) == 2, "two digests");
    registry_list_free(list);
    list = NULL;
    snprintf(cmd, sizeof cmd, "skopeo --insecure-policy copy --quiet docker-archive:%s:%s/fixtures/multi:latest dir:%s/saved-dir",
             path, envf("anon", "ADDR"), dir);
    CHECK(run_capture(cmd, out, sizeof out) == 0, "skopeo finds the second image by its tag: %s", out);
    expect(registry_image_save(anon, repos, refs, 0, NULL, path, NULL, NULL, &list, &err), &err,
           REGISTRY_STATUS_INVALID_ARGUMENT, "save nothing");
    expect(registry_image_save(anon, NULL, refs, 2, NULL, path, NULL, NULL, &list, &err), &err,
           REGISTRY_STATUS_NULL_ARGUMENT, "save NULL repos");

    /* Archives in: ours (the index, digest kept), skopeo's docker-archive
     * (uncompressed layers: an OCI manifest with ...layer.v1.tar). */
    snprintf(path, sizeof path, "%s/multi-all.tar", dir);
    expect(registry_image_pull_archive(anon, "fixtures/multi", "latest", NULL, path, "oci-archive", NULL, NULL, NULL,
                                       &err),
           &err, REGISTRY_STATUS_OK, "pull oci-archive again");
    memset(&r, 0, sizeof r);
    r.caller = pthread_self();
    expect(registry_image_push_archive(token, path, NULL, "c/from-archive", "multi", on_progress, &r, &d, &err), &err,
           REGISTRY_STATUS_OK, "push oci-archive");
    CHECK(d && strcmp(d, index) == 0, "pushed the index byte for byte: %s", d ? d : "(null)");
    registry_string_free(d);
    d = NULL;
    CHECK(r.off_thread == 0 && r.zeros >= 3, "push progress: %d zeros", r.zeros);
    snprintf(path, sizeof path, "%s/skopeo.tar", dir);
    snprintf(cmd, sizeof cmd, "skopeo --insecure-policy copy --quiet --src-tls-verify=false docker://%s/fixtures/app:v1 "
             "docker-archive:%s:c/app:v1", envf("anon", "ADDR"), path);
    CHECK(run_capture(cmd, out, sizeof out) == 0, "skopeo writes a docker-archive: %s", out);
    expect(registry_image_push_archive(anon, path, "c/app:v1", "c/from-docker", "v1", NULL, NULL, &d, &err), &err,
           REGISTRY_STATUS_OK, "push skopeo's docker-archive");
    registry_string_free(d);
    d = NULL;
    snprintf(cmd, sizeof cmd, "skopeo --insecure-policy inspect --raw --tls-verify=false docker://%s/c/from-docker:v1",
             envf("anon", "ADDR"));
    CHECK(run_capture(cmd, out, sizeof out) == 0 && strstr(out, image_id) && strstr(out, "layer.v1.tar\""),
          "skopeo reads the pushed image: %s", out);
    expect(registry_image_push_archive(anon, path, "c/app:v9", "c/from-docker", "v1", NULL, NULL, &d, &err), &err,
           REGISTRY_STATUS_NOT_FOUND, "no such image in the archive");
    {
        /* Compressed on the way: the plain-tar layer goes as ...tar+gzip, the config kept. */
        registry_transfer_options *gz = NULL;
        expect(registry_transfer_options_new(&gz, &err), &err, REGISTRY_STATUS_OK, "new options");
        expect(registry_transfer_options_compress(gz, "zstd", &err), &err, REGISTRY_STATUS_INVALID_ARGUMENT,
               "unknown compression");
        expect(registry_transfer_options_compress(gz, "gzip", &err), &err, REGISTRY_STATUS_OK, "gzip");
        expect(registry_image_push_archive_with(anon, path, NULL, "c/from-docker", "gz", gz, NULL, NULL, &d, &err),
               &err, REGISTRY_STATUS_OK, "push skopeo's docker-archive compressed");
        CHECK(d != NULL, "a digest for the compressed push");
        registry_string_free(d);
        d = NULL;
        snprintf(cmd, sizeof cmd,
                 "skopeo --insecure-policy inspect --raw --tls-verify=false docker://%s/c/from-docker:gz",
                 envf("anon", "ADDR"));
        CHECK(run_capture(cmd, out, sizeof out) == 0 && strstr(out, image_id) && strstr(out, "layer.v1.tar+gzip\""),
              "skopeo reads the compressed image: %s", out);
        /* An oci-archive keeps its manifests byte for byte: it cannot compress. */
        snprintf(cmd, sizeof cmd, "%s/multi-all.tar", dir);
        expect(registry_image_push_archive_with(anon, cmd, NULL, "c/from-oci", "gz", gz, NULL, NULL, &d, &err), &err,
               REGISTRY_STATUS_INVALID_ARGUMENT, "compress an oci-archive");
        expect(registry_transfer_options_compress(gz, NULL, &err), &err, REGISTRY_STATUS_OK, "compression off");
        expect(registry_image_push_archive_with(anon, cmd, NULL, "c/from-oci", "v1", gz, NULL, NULL, &d, &err), &err,
               REGISTRY_STATUS_OK, "push the oci-archive with options that do not compress");
        registry_string_free(d);
        d = NULL;
        registry_transfer_options_free(gz);
    }
    snprintf(cmd, sizeof cmd, "%s/missing.tar", dir);
    expect(registry_image_push_archive(anon, cmd, NULL, "c/from-docker", "v1", NULL, NULL, &d, &err), &err,
           REGISTRY_STATUS_NOT_FOUND, "no archive");
    snprintf(cmd, sizeof cmd, "%s/oci-layout-not-a-tar", dir);
    {
        FILE *junk = fopen(cmd, "w");
        CHECK(junk != NULL, "junk file");
        if (junk) {
            fputs("this is no tar archive, but it is long enough to hold a header... ", junk);
            for (int i = 0; i < 20; i++) fputs("0123456789012345678901234567890123456789", junk);
            fclose(junk);
        }
    }
    expect(registry_image_push_archive(anon, cmd, NULL, "c/from-docker", "v1", NULL, NULL, &d, &err), &err,
           REGISTRY_STATUS_INVALID_ARGUMENT, "no tar");
    expect(registry_image_push_archive(anon, NULL, NULL, "c/from-docker", "v1", NULL, NULL, &d, &err), &err,
           REGISTRY_STATUS_NULL_ARGUMENT, "NULL archive path");
    CHECK(d == NULL, "no digest on failure");

    /* Failures and cancels leave nothing at the path. */
    snprintf(path, sizeof path, "%s/none.tar", dir);
    expect(registry_image_pull_archive(anon, "fixtures/app", "v1", NULL, path, "tarball", NULL, NULL, &d, &err), &err,
           REGISTRY_STATUS_INVALID_ARGUMENT, "unknown format");
    expect(registry_image_pull_archive(anon, "fixtures/app", "nope", NULL, path, "docker-archive", NULL, NULL, &d, &err),
           &err, REGISTRY_STATUS_NOT_FOUND, "no such tag");
    expect(registry_image_pull_archive(anon, "fixtures/app", "v1", NULL, NULL, "docker-archive", NULL, NULL, &d, &err),
           &err, REGISTRY_STATUS_NULL_ARGUMENT, "NULL path");
    memset(&r, 0, sizeof r);
    r.caller = pthread_self();
    r.cancel_after = 2;
    expect(registry_image_pull_archive(anon, "fixtures/big", "v1", NULL, path, "oci-archive", on_progress, &r, &d, &err),
           &err, REGISTRY_STATUS_ABORTED, "cancelled");
    CHECK(d == NULL, "no digest on failure");
    CHECK(stat(path, &st) != 0, "no file after a failure or cancel");
    snprintf(cmd, sizeof cmd, "ls -A %s | grep -v -e app.tar -e app-dir -e multi -e saved -e skopeo.tar -e not-a-tar", dir);
    CHECK(run_capture(cmd, out, sizeof out) != 0 && out[0] == 0, "no temporary file left: %s", out);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    registry_client_free(anon);
    registry_client_free(token);
}

/* Entries in dir other than . and .. (-1: cannot open it). */
static int entries_in(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

/* Uploads recorded in a state directory: the setting takes a path, NULL or
 * "" (off), a 9 MiB layer goes up in recorded chunks and leaves nothing
 * recorded once committed. */
static void test_upload_state_dir(void) {
    registry_client_builder *b = NULL;
    registry_client *c = NULL, *plain = client_for("anon", NULL, NULL);
    registry_error *err = NULL;
    char dir[] = "/tmp/registry-c-state-XXXXXX";
    char state[256], path[256], first[64], second[64];
    char *digest = NULL, *again = NULL;
    size_t i, n = 9 * 1024 * 1024 + 5;
    uint8_t *data = malloc(n);
    bool yes = false;
    FILE *f;

    fprintf(stderr, "# C upload state directory\n");
    CHECK(data != NULL && mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(path, sizeof path, "%s/layer", dir);
    snprintf(first, sizeof first, "c/resume-a-%d", (int)getpid());
    snprintf(second, sizeof second, "c/resume-b-%d", (int)getpid());
    for (i = 0; i < n; i++) data[i] = (uint8_t)((i * 2654435761u) >> 13);
    f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, n, f) == n, "write the layer");
    fclose(f);
    free(data);

    expect(registry_client_builder_upload_state_dir(NULL, state, &err), &err, REGISTRY_STATUS_NULL_ARGUMENT,
           "upload_state_dir NULL builder");
    expect(registry_client_builder_new(envf("anon", "ADDR"), &b, &err), &err, REGISTRY_STATUS_OK, "builder_new");
    expect(registry_client_builder_upload_state_dir(b, NULL, &err), &err, REGISTRY_STATUS_OK, "state dir NULL");
    expect(registry_client_builder_upload_state_dir(b, "", &err), &err, REGISTRY_STATUS_OK, "state dir empty");
    expect(registry_client_builder_upload_state_dir(b, state, &err), &err, REGISTRY_STATUS_OK, "state dir");
    expect(registry_client_builder_build(b, &c, &err), &err, REGISTRY_STATUS_OK, "build");

    /* The digest first (no expected digest: not recorded), then the same
     * bytes with it to another repository: recorded, chunked, committed. */
    expect(registry_layer_put_file(plain, first, NULL, path, &digest, &err), &err, REGISTRY_STATUS_OK, "put first");
    CHECK(entries_in(state) == -1, "nothing made without the setting");
    expect(registry_layer_put_file(c, second, digest, path, &again, &err), &err, REGISTRY_STATUS_OK, "put recorded");
    CHECK(again && digest && strcmp(again, digest) == 0, "same digest");
    expect(registry_layer_exists(c, second, digest, &yes, &err), &err, REGISTRY_STATUS_OK, "exists");
    CHECK(yes, "the recorded upload was committed");
    CHECK(entries_in(state) == 0, "the state directory is made, and empty once committed");

    registry_string_free(digest);
    registry_string_free(again);
    registry_client_free(c);
    registry_client_free(plain);
    unlink(path);
    rmdir(state);
    rmdir(dir);
}

int main(void) {
    const char *modes[] = {"anon", "basic", "token", "tls"};
    size_t i;
    test_static_and_null_handling();
    for (i = 0; i < sizeof modes / sizeof *modes; i++) {
        if (!envf(modes[i], "ADDR")) {
            fprintf(stderr, "REGISTRY_TEST_%s_ADDR is not set: run under ffi-tests/fixtures/registry.py run\n", modes[i]);
            failed++;
            continue;
        }
        test_read_flows(modes[i]);
        test_write_flows(modes[i]);
    }
    test_v1("v1");
    test_v1("v1sa");
    test_v1_repositories("v1");
    test_v1_repositories("v1sa");
    test_tokens_and_scopes();
    test_wrong_password("basic");
    test_wrong_password("token");
    test_docker_config("basic");
    test_env_credentials_and_restrict();
    test_pull_only_user();
    test_threads();
    test_tls_without_ca();
    test_certs_dir_and_retries();
    test_images();
    test_cancel_and_layouts();
    test_credential_helper();
    test_mirrors();
    test_referrers("anon");
    test_referrers("ferro");
    test_transfer_options();
    test_bindings_parity();
    test_batches();
    test_rate_limits();
    test_sync();
    test_archives();
    test_upload_state_dir();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
