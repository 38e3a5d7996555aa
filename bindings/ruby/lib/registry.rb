# frozen_string_literal: true

# Ruby wrapper of the `registry` C library (include/registry.h), through the
# ffi gem. The shared library is, in this order: the file REGISTRY_LIB names;
# libregistry.so.<major> in the libdir pkg-config gives for registry.pc (where
# `make install` put it; PKG_CONFIG_PATH names other prefixes); else
# libregistry.so.<major> on the system's search path (ldconfig,
# LD_LIBRARY_PATH).
#
#   c = Registry::Client.new("localhost:5000", username: "alice", password: "secret")
#   c.tags("team/app")            # => ["v1", "v2"]
#   c.image_id("team/app", "v1")  # => "sha256:..."
#
# A Client may be shared by many threads; network calls release the GVL.

require "ffi"
require "English"
require "json"

module Registry
  # The raw C functions. Strings returned by the library are read and then
  # freed with the library's own free functions (never libc free).
  module Native
    extend FFI::Library

    # The soname of the C library this wrapper is written against.
    SONAME = "libregistry.so.0"

    # Where the library is loaded from: REGISTRY_LIB, else pkg-config's
    # libdir for registry, else the soname alone (the dynamic linker's search).
    def self.library_path
      env = ENV.fetch("REGISTRY_LIB", "")
      return env unless env.empty?

      libdir = begin
        IO.popen(%w[pkg-config --variable=libdir registry], err: File::NULL, &:read).strip
      rescue SystemCallError
        "" # no pkg-config
      end
      path = File.join(libdir, SONAME)
      !libdir.empty? && File.exist?(path) ? path : SONAME
    end

    begin
      ffi_lib library_path
    rescue LoadError => e
      raise LoadError, "#{e.message}\nregistry: set REGISTRY_LIB to libregistry.so, " \
                       "or install the C library (make install; PKG_CONFIG_PATH for its prefix)"
    end

    typedef :uint32, :status
    typedef :pointer, :err_out

    attach_function :registry_version, [], :pointer
    attach_function :registry_status_name, [:uint32], :pointer
    attach_function :registry_error_status, [:pointer], :status
    attach_function :registry_error_http_status, [:pointer], :uint16
    attach_function :registry_error_message, [:pointer], :pointer
    attach_function :registry_error_code, [:pointer], :pointer
    attach_function :registry_error_free, [:pointer], :void

    attach_function :registry_client_builder_new, %i[string pointer err_out], :status
    attach_function :registry_client_builder_basic_auth, %i[pointer string string err_out], :status
    attach_function :registry_client_builder_bearer_token, %i[pointer string err_out], :status
    attach_function :registry_client_builder_docker_config, %i[pointer string err_out], :status
    attach_function :registry_client_builder_ca_file, %i[pointer string err_out], :status
    attach_function :registry_client_builder_insecure, %i[pointer bool err_out], :status
    attach_function :registry_client_builder_timeout_ms, %i[pointer uint64 err_out], :status
    attach_function :registry_client_builder_user_agent, %i[pointer string err_out], :status
    attach_function :registry_client_builder_api, %i[pointer uint32 err_out], :status
    attach_function :registry_client_builder_certs_dir, %i[pointer string err_out], :status
    attach_function :registry_client_builder_upload_state_dir, %i[pointer string err_out], :status
    attach_function :registry_client_builder_max_retries, %i[pointer uint32 err_out], :status
    attach_function :registry_client_builder_proxy, %i[pointer string err_out], :status
    attach_function :registry_client_builder_mirror, %i[pointer string err_out], :status
    attach_function :registry_client_builder_unauthorized_is_not_found, %i[pointer bool err_out], :status
    attach_function :registry_client_builder_build, %i[pointer pointer err_out], :status, blocking: true
    attach_function :registry_client_builder_free, [:pointer], :void
    attach_function :registry_client_free, [:pointer], :void

    attach_function :registry_ping, %i[pointer pointer err_out], :status, blocking: true
    attach_function :registry_search, %i[pointer string uint32 pointer err_out], :status, blocking: true
    attach_function :registry_search_page, %i[pointer string uint32 uint32 pointer err_out], :status, blocking: true
    attach_function :registry_tags, %i[pointer string pointer err_out], :status, blocking: true
    attach_function :registry_image_id, %i[pointer string string pointer err_out], :status, blocking: true
    attach_function :registry_layer_exists, %i[pointer string string pointer err_out], :status, blocking: true
    attach_function :registry_layer_open, %i[pointer string string pointer err_out], :status, blocking: true
    attach_function :registry_reader_read, %i[pointer pointer size_t pointer err_out], :status, blocking: true
    attach_function :registry_reader_free, [:pointer], :void
    attach_function :registry_layer_get_file, %i[pointer string string string err_out], :status, blocking: true
    attach_function :registry_manifest_get,
                    %i[pointer string string pointer pointer pointer err_out], :status, blocking: true
    attach_function :registry_manifest_get_for_platform,
                    %i[pointer string string string pointer pointer pointer err_out], :status, blocking: true

    callback :registry_read_fn, %i[pointer pointer size_t pointer], :int32
    attach_function :registry_layer_put,
                    %i[pointer string string registry_read_fn pointer pointer err_out], :status, blocking: true
    attach_function :registry_layer_put_file, %i[pointer string string string pointer err_out], :status, blocking: true
    attach_function :registry_blob_mount, %i[pointer string string string pointer err_out], :status, blocking: true
    attach_function :registry_manifest_put,
                    %i[pointer string string string pointer size_t pointer err_out], :status, blocking: true
    attach_function :registry_manifest_delete, %i[pointer string string err_out], :status, blocking: true
    attach_function :registry_set_tag, %i[pointer string string string err_out], :status, blocking: true
    attach_function :registry_delete_tag, %i[pointer string string err_out], :status, blocking: true
    attach_function :registry_hub_token, %i[pointer string uint32 pointer err_out], :status, blocking: true
    attach_function :registry_token, %i[pointer string uint32 pointer err_out], :status, blocking: true
    attach_function :registry_v1_image_json, %i[pointer string pointer err_out], :status, blocking: true
    attach_function :registry_v1_image_json_put, %i[pointer string string err_out], :status, blocking: true
    attach_function :registry_v1_ancestry, %i[pointer string pointer err_out], :status, blocking: true
    attach_function :registry_v1_repo_image_json, %i[pointer string string pointer err_out], :status, blocking: true
    attach_function :registry_v1_repo_image_json_put, %i[pointer string string string err_out], :status, blocking: true
    attach_function :registry_v1_repo_ancestry, %i[pointer string string pointer err_out], :status, blocking: true
    attach_function :registry_v1_repository_images, %i[pointer string pointer err_out], :status, blocking: true
    attach_function :registry_v1_repository_images_put, %i[pointer string string err_out], :status, blocking: true
    attach_function :registry_v1_repository_put, %i[pointer string string err_out], :status, blocking: true
    attach_function :registry_v1_repository_delete, %i[pointer string err_out], :status, blocking: true
    attach_function :registry_reader_verified, [:pointer], :bool

    attach_function :registry_list_len, [:pointer], :size_t
    attach_function :registry_list_get, %i[pointer size_t], :pointer
    attach_function :registry_list_free, [:pointer], :void
    attach_function :registry_buf_data, [:pointer], :pointer
    attach_function :registry_buf_len, [:pointer], :size_t
    attach_function :registry_buf_free, [:pointer], :void
    attach_function :registry_string_free, [:pointer], :void
  end

  # The status names, indexed by code ([:ok, :null_argument, ...]), read at
  # load from the library's one status table through registry_status_name; a
  # code the library does not know (a retired one) is nil.
  STATUS_NAMES = (0..255).map do |code|
    name = Native.registry_status_name(code).read_string
    name == "UNKNOWN" ? nil : name.downcase.to_sym
  end.reverse.drop_while(&:nil?).reverse.freeze

  # Every failure of the library. #status is a Symbol such as :not_found;
  # #http_status is 0 when no HTTP response was involved; #code is the
  # registry's own error code (e.g. "MANIFEST_UNKNOWN") or nil.
  class Error < StandardError
    attr_reader :status, :http_status, :code

    def initialize(message, status: :protocol, http_status: 0, code: nil)
      super(message)
      @status = status
      @http_status = http_status
      @code = code
    end
  end

  # One subclass per status: Registry::NotFound, Registry::Unauthorized, ...
  ERROR_CLASSES = STATUS_NAMES.drop(1).compact.to_h do |name|
    klass = Class.new(Error)
    const_set(name.to_s.split("_").map(&:capitalize).join, klass)
    [name, klass]
  end.freeze

  # The library version, e.g. "0.1.0".
  def self.version
    Native.registry_version.read_string
  end

  # Calls the block with an error out-param; raises the matching Error
  # subclass unless it returned OK.
  def self.call
    err = FFI::MemoryPointer.new(:pointer)
    status = yield err
    raise error_from(err.read_pointer, status) unless status.zero?
  end

  def self.error_from(ptr, status)
    name = STATUS_NAMES[status] || :panic
    return ERROR_CLASSES.fetch(name).new("#{name} (no detail)", status: name) if ptr.null?

    begin
      message = Native.registry_error_message(ptr).read_string.force_encoding(Encoding::UTF_8)
      code_ptr = Native.registry_error_code(ptr)
      code = code_ptr.null? ? nil : code_ptr.read_string
      ERROR_CLASSES.fetch(name).new(message, status: name, code: code,
                                             http_status: Native.registry_error_http_status(ptr))
    ensure
      Native.registry_error_free(ptr)
    end
  end

  # Reads and frees a char* the library returned.
  def self.take_string(ptr)
    ptr.read_string.force_encoding(Encoding::UTF_8)
  ensure
    Native.registry_string_free(ptr)
  end

  # Copies and frees a registry_buf.
  def self.take_buf(ptr)
    Native.registry_buf_data(ptr).read_bytes(Native.registry_buf_len(ptr))
  ensure
    Native.registry_buf_free(ptr)
  end

  # Copies and frees a registry_list.
  def self.take_list(ptr)
    Array.new(Native.registry_list_len(ptr)) do |i|
      Native.registry_list_get(ptr, i).read_string.force_encoding(Encoding::UTF_8)
    end
  ensure
    Native.registry_list_free(ptr)
  end

  Manifest = Struct.new(:body, :media_type, :digest)

  # A client for one registry. Thread-safe: many threads may call one client
  # at once, and #close waits for the calls in flight before it frees it.
  class Client
    API = { auto: 0, v1: 1, v2: 2 }.freeze
    CHUNK = 64 * 1024

    # registry: "localhost:5000", "docker.io", "https://host:port", ...
    # docker_config: where docker's config.json is, read when no username or
    # token is given: a path; nil (or true) for the default,
    # $DOCKER_CONFIG/config.json else ~/.docker/config.json; "" (or false)
    # turns the lookup off, as "" does in C.
    # certs_dir: docker's certs.d directory; nil (or true) for the default,
    # /etc/docker/certs.d, read when it exists, as docker reads it; a
    # directory in that layout instead; "" (or false) turns it off, as "" does
    # in C.
    # max_retries: tries again for idempotent requests (default 3, 0 = off).
    # proxy: an http:// proxy URL for every request ("" = none); default: from
    # HTTPS_PROXY / HTTP_PROXY / NO_PROXY, never for loopback.
    # timeout_ms: a small document must arrive whole within it; a blob
    # transfer fails when no byte moves within it (default 30000).
    # unauthorized_is_not_found: read a 401 after a granted token as
    # Registry::NotFound (Docker Hub's answer for a missing repository; the
    # default for docker.io, true or false to choose).
    # parallel: how many blobs one #pull, #push or #copy moves at once
    # (default 4; 1 = one after another; at most 64).
    # mirrors: URLs ("https://host[:port]", or "http://" for plain HTTP to
    # that mirror) read through first, in order: reads try each, then the
    # registry; a mirror that fails is skipped; writes never go to one; a
    # mirror gets only its own config.json credentials.
    # env_credentials: credentials from environment variables, as carvel
    # imgpkg reads them (<PREFIX>_HOSTNAME[_N], _USERNAME, _PASSWORD,
    # _IDENTITY_TOKEN, _REGISTRY_TOKEN; HOSTNAME may be a glob such as
    # "*.example.com"): true for the prefix "REGISTRY", a String for another
    # ("IMGPKG_REGISTRY" reads imgpkg's own); nil or false: not read. Read
    # from ENV when the client is made. Credentials come from username:/
    # token: first, then the environment, then docker's config.json.
    # auth_key: the config.json key to look credentials up under instead of
    # the registry's host (binderhub's auth_config_url, such as
    # "https://index.docker.io/v1/").
    # ca_pem: PEM certificates (a String) to trust instead of the built-in
    # roots, as ca_file: does with a file.
    # identity_token: an OAuth2 refresh token (docker's "identitytoken"),
    # sent only to the registry's token server and exchanged there for
    # bearer tokens.
    # rate_limit: at most this many requests per second to the registry,
    # shared by every thread using the client (default nil or 0: no limit);
    # a 429 pauses the whole client whatever the limit (see ratelimit.rb).
    # upload_state_dir: a directory where blob uploads record their sessions
    # (one small file per blob, mode 0600, no credentials, removed once the
    # blob is committed) so that a #push, #copy or put_layer of the same blob
    # after a crash or kill sends only what the registry does not hold yet;
    # nil or "" (the default): off.
    def initialize(registry, username: nil, password: nil, token: nil, docker_config: nil,
                   ca_file: nil, insecure: false, api: :auto, timeout_ms: nil, user_agent: nil,
                   certs_dir: nil, max_retries: nil, proxy: nil, unauthorized_is_not_found: nil,
                   parallel: nil, mirrors: [], env_credentials: nil, auth_key: nil, ca_pem: nil,
                   identity_token: nil, rate_limit: nil, upload_state_dir: nil)
      raise InvalidArgument.new("unknown api #{api.inspect}", status: :invalid_argument) unless API.key?(api)

      out = FFI::MemoryPointer.new(:pointer)
      Registry.call { |e| Native.registry_client_builder_new(registry, out, e) }
      builder = out.read_pointer
      begin
        configure(builder, username, password, token, docker_config, ca_file, insecure, api, timeout_ms, user_agent)
        unless certs_dir.nil? || certs_dir == true
          dir = certs_dir == false ? "" : certs_dir.to_s
          Registry.call { |e| Native.registry_client_builder_certs_dir(builder, dir, e) }
        end
        Registry.call { |e| Native.registry_client_builder_max_retries(builder, max_retries, e) } if max_retries
        Registry.call { |e| Native.registry_client_builder_proxy(builder, proxy, e) } if proxy
        Registry.call { |e| Native.registry_client_builder_parallel(builder, parallel, e) } if parallel
        Array(mirrors).each { |url| Registry.call { |e| Native.registry_client_builder_mirror(builder, url, e) } }
        if env_credentials
          prefix = env_credentials == true ? nil : env_credentials.to_s
          Registry.call { |e| Native.registry_client_builder_env_credentials(builder, prefix, e) }
        end
        Registry.call { |e| Native.registry_client_builder_auth_key(builder, auth_key.to_s, e) } unless auth_key.nil?
        if ca_pem
          Registry.call { |e| Native.registry_client_builder_ca_pem(builder, ca_pem.b, ca_pem.bytesize, e) }
        end
        if identity_token
          Registry.call { |e| Native.registry_client_builder_identity_token(builder, identity_token, e) }
        end
        Registry.call { |e| Native.registry_client_builder_rate_limit(builder, rate_limit, e) } if rate_limit
        if upload_state_dir
          Registry.call { |e| Native.registry_client_builder_upload_state_dir(builder, upload_state_dir.to_s, e) }
        end
        unless unauthorized_is_not_found.nil?
          Registry.call do |e|
            Native.registry_client_builder_unauthorized_is_not_found(builder, unauthorized_is_not_found ? true : false, e)
          end
        end
      rescue StandardError
        Native.registry_client_builder_free(builder)
        raise
      end
      Registry.call { |e| Native.registry_client_builder_build(builder, out, e) }
      adopt(out.read_pointer)
    end

    # :v2 or :v1.
    def ping
      api = FFI::MemoryPointer.new(:uint32)
      client_call { |h, e| Native.registry_ping(h, api, e) }
      API.key(api.read_uint32)
    end

    # The tags of repo, sorted.
    def tags(repo)
      out_call(:take_list) { |h, out, e| Native.registry_tags(h, repo, out, e) }
    end

    # v2: the config digest of tag's manifest ("sha256:..."); v1: the image id.
    def image_id(repo, tag)
      out_call(:take_string) { |h, out, e| Native.registry_image_id(h, repo, tag, out, e) }
    end

    def layer_exists?(repo, digest)
      out = FFI::MemoryPointer.new(:bool)
      client_call { |h, e| Native.registry_layer_exists(h, repo, digest, out, e) }
      out.read(:bool)
    end

    # Streams a layer (v2: a blob digest; v1: an image id): yields binary
    # chunks and then returns whether the bytes were verified (true; false
    # only for a v1 layer whose registry keeps no checksum), or returns the
    # whole String without a block. The digest (v1: the image checksum) is
    # checked before the end is reported: a mismatch raises DigestMismatch. The download (and
    # the block) counts as a call in flight until it returns: #close waits for
    # it, and the library's reader is freed before the client can be.
    def layer(repo, digest, &block)
      with_handle { |h| read_layer(h, repo, digest, &block) }
    end

    # Downloads a layer to path; nothing is left at path on failure.
    def layer_to_file(repo, digest, path)
      client_call { |h, e| Native.registry_layer_get_file(h, repo, digest, path.to_s, e) }
      path
    end

    # Repositories whose name contains term; a Hash of the search JSON.
    def search(term, limit: 25)
      JSON.parse(out_call(:take_buf) { |h, out, e| Native.registry_search(h, term, limit, out, e) })
    end

    # One page of a search as Docker Hub pages it: a Hash with "query",
    # "num_results" (over all pages), "num_pages", "page_size", "page" and
    # "results" (each with "is_official", "is_trusted", "star_count", ...).
    # page: counts from 1; limit: 0 means 25, more than 100 asks for 100. On
    # v2, pages of the filtered catalog; a page past the last is empty.
    def search_page(term, page: 1, limit: 25)
      JSON.parse(out_call(:take_buf) { |h, out, e| Native.registry_search_page(h, term, page, limit, out, e) })
    end

    # A Registry::Manifest (body, media_type, digest). With platform:
    # ("os/arch[/variant]"), when reference names an index, the manifest of
    # that platform's image in it (through nested indexes); NotFound when
    # the index has none.
    def manifest(repo, reference, platform: nil)
      body = FFI::MemoryPointer.new(:pointer)
      media = FFI::MemoryPointer.new(:pointer)
      digest = FFI::MemoryPointer.new(:pointer)
      client_call do |h, e|
        if platform.nil?
          Native.registry_manifest_get(h, repo, reference, body, media, digest, e)
        else
          Native.registry_manifest_get_for_platform(h, repo, reference, platform, body, media, digest, e)
        end
      end
      Manifest.new(Registry.take_buf(body.read_pointer), Registry.take_string(media.read_pointer),
                   Registry.take_string(digest.read_pointer))
    end

    ACCESS = { read: 1, write: 2, delete: 3 }.freeze

    # Uploads a layer from an IO (anything with #read(length) returning a
    # String, or nil at the end) or a file path and returns its digest. The IO
    # stays the caller's: it is read on the calling thread, only during this
    # call, and never closed. An IO may return more than length bytes: the
    # library gets at most what it asked for and the rest on its next request,
    # so every byte is uploaded once, in order. With digest:, a blob already
    # there is not sent again and other bytes raise DigestMismatch with nothing
    # committed. An exception raised by the IO (or a #read that returns
    # something other than a String or nil, a TypeError) aborts the upload
    # with nothing committed and is raised again here. v1: digest: is the id
    # of the image whose JSON was put first (v1_image_json_put), and the image
    # checksum is returned.
    def put_layer(repo, io_or_path, digest: nil)
      out = FFI::MemoryPointer.new(:pointer)
      unless io_or_path.respond_to?(:read)
        client_call { |h, e| Native.registry_layer_put_file(h, repo, digest, io_or_path.to_s, out, e) }
        return Registry.take_string(out.read_pointer)
      end
      failure = nil
      pending = "" # read from the IO; its bytes from offset on are not handed over yet
      offset = 0
      reader = proc do |_userdata, buf, cap, out_n|
        if offset >= pending.bytesize
          pending = read_upload_chunk(io_or_path, cap)
          offset = 0
        end
        n = [pending.bytesize - offset, cap].min # never more than the library's buffer holds
        buf.put_bytes(0, pending, offset, n)
        offset += n
        out_n.write(:size_t, n)
        0
      rescue Exception => e # rubocop:disable Lint/RescueException -- must not unwind through C
        failure = e
        1
      end
      begin
        client_call { |h, e| Native.registry_layer_put(h, repo, digest, reader, nil, out, e) }
      rescue Aborted
        raise failure || $ERROR_INFO
      end
      Registry.take_string(out.read_pointer)
    end

    # Mounts blob digest from repository from into repo; false when the
    # registry could not (upload it instead).
    def mount_blob(repo, digest, from)
      out = FFI::MemoryPointer.new(:bool)
      client_call { |h, e| Native.registry_blob_mount(h, repo, digest, from, out, e) }
      out.read(:bool)
    end

    # Stores a manifest (a String, stored byte for byte) under a tag or its own
    # digest; returns its digest.
    def put_manifest(repo, reference, media_type, body)
      bytes = FFI::MemoryPointer.from_string(body.b)
      out = FFI::MemoryPointer.new(:pointer)
      client_call do |h, e|
        Native.registry_manifest_put(h, repo, reference, media_type, bytes, body.bytesize, out, e)
      end
      Registry.take_string(out.read_pointer)
    end

    # Deletes a manifest by digest (and every tag on it).
    def delete_manifest(repo, digest)
      client_call { |h, e| Native.registry_manifest_delete(h, repo, digest, e) }
    end

    # Points tag at image (v2: a tag or a digest; v1: an image id).
    def set_tag(repo, image, tag)
      client_call { |h, e| Native.registry_set_tag(h, repo, image, tag, e) }
    end

    # Removes tag and nothing else.
    def delete_tag(repo, tag)
      client_call { |h, e| Native.registry_delete_tag(h, repo, tag, e) }
    end

    # The token for :read, :write or :delete access to repo, from any
    # registry that uses token auth (v1: a fresh index token, also used by
    # the client's next calls with that access).
    def token(repo, access)
      code = ACCESS.fetch(access) { raise InvalidArgument.new("unknown access #{access.inspect}", status: :invalid_argument) }
      out_call(:take_string) { |h, out, e| Native.registry_token(h, repo, code, out, e) }
    end

    # token under its first name, kept for callers written against it.
    alias hub_token token

    # v1 only: the image's JSON, a String as the registry keeps it. Behind an
    # index, repo: names the repository whose token to present (without it,
    # the client's latest read token, whichever repository that is for).
    def v1_image_json(image_id, repo: nil)
      out_call(:take_buf) { |h, out, e| Native.registry_v1_repo_image_json(h, repo, image_id, out, e) }
    end

    # v1 only: stores an image's JSON (a String, or a Hash to encode), the
    # first step of pushing it; behind an index, pass repo: (or get
    # hub_token(repo, :write) first).
    def v1_image_json_put(image_id, json, repo: nil)
      json = JSON.generate(json) if json.is_a?(Hash)
      client_call { |h, e| Native.registry_v1_repo_image_json_put(h, repo, image_id, json, e) }
    end

    # v1 only: the image id, its parent, ... down to the base image (repo: as
    # for v1_image_json).
    def v1_ancestry(image_id, repo: nil)
      out_call(:take_list) { |h, out, e| Native.registry_v1_repo_ancestry(h, repo, image_id, out, e) }
    end

    # v1 only: the repository's image list as the index keeps it, an Array of
    # Hashes {"id" => ..., "checksum" => ...} ("checksum" absent when the
    # index has none). The read token that comes with it becomes the client's.
    def v1_repository_images(repo)
      JSON.parse(out_call(:take_buf) { |h, out, e| Native.registry_v1_repository_images(h, repo, out, e) })
    end

    # v1 only: a push's first step, PUT /v1/repositories/<repo>/ with the
    # image list (an Array of Hashes with :id / "id", optional :checksum):
    # creates the repository; its write token becomes the client's.
    def v1_repository_put(repo, images = [])
      json = JSON.generate(images)
      client_call { |h, e| Native.registry_v1_repository_put(h, repo, json, e) }
    end

    # v1 only: a push's last step, PUT /v1/repositories/<repo>/images with the
    # checksums of the images pushed (entries without one are not sent).
    def v1_repository_images_put(repo, images)
      json = JSON.generate(images)
      client_call { |h, e| Native.registry_v1_repository_images_put(h, repo, json, e) }
    end

    # v1 only: deletes the repository and all its tags (behind an index with
    # the delete token it hands out).
    def v1_repository_delete(repo)
      client_call { |h, e| Native.registry_v1_repository_delete(h, repo, e) }
    end

    # Frees the client now (it is also freed when garbage-collected, which
    # cannot happen during a call). Calls that other threads have in flight
    # on this client finish first: close waits for them (a #layer download
    # with a block, until the block is done with the last chunk). Calls that
    # start once close has begun raise IOError. Closing again does nothing.
    # Raises ThreadError, and leaves the client open, when called from inside
    # a call on this client on the same thread (a #layer block, an upload
    # IO's #read), which could never finish.
    def close
      ptr = @lock.synchronize do
        raise ThreadError, "close from inside a call on this client would wait forever" if @calls.key?(Thread.current)

        ptr = @ptr
        @ptr = nil
        @idle.wait(@lock) until @calls.empty?
        ptr
      end
      ptr&.free
      nil
    end

    private

    # Takes ownership of a registry_client handle (freed by #close or GC).
    def adopt(handle)
      @lock = Mutex.new # guards @ptr and @calls
      @idle = ConditionVariable.new # signalled when @calls becomes empty
      @calls = Hash.new(0) # Thread => how many calls it has in flight on this client
      @ptr = FFI::AutoPointer.new(handle, Native.method(:registry_client_free))
    end

    # Registry.call with the client's handle: yields the handle and the error
    # pointer, as one call in flight (see #with_handle).
    def client_call
      with_handle { |h| Registry.call { |e| yield h, e } }
    end

    # Runs the block with the client's handle, an out-pointer and the error
    # pointer, as one call in flight, then takes what the library stored
    # there with Registry.take_string, take_buf or take_list (named by take).
    def out_call(take)
      out = FFI::MemoryPointer.new(:pointer)
      client_call { |h, e| yield h, out, e }
      Registry.public_send(take, out.read_pointer)
    end

    # Yields the client's handle, counted as a call in flight of this thread
    # until the block returns, so that #close cannot free the client under
    # it. The handle is lent for the block only. Raises IOError once the
    # client is closed (or closing).
    def with_handle
      Thread.handle_interrupt(Object => :never) do
        handle = enter
        begin
          Thread.handle_interrupt(Object => :immediate) { yield handle }
        ensure
          leave
        end
      end
    end

    # Counts a call in flight on this thread; the handle, unless closed.
    def enter
      @lock.synchronize do
        raise IOError, "the client is closed" unless @ptr

        @calls[Thread.current] += 1
        @ptr
      end
    end

    # Ends a call that #enter counted; wakes #close when none are left.
    def leave
      @lock.synchronize do
        @calls.delete(Thread.current) if (@calls[Thread.current] -= 1).zero?
        @idle.broadcast if @calls.empty?
      end
    end

    # The body of #layer, with the handle of a call in flight.
    def read_layer(handle, repo, digest)
      out = FFI::MemoryPointer.new(:pointer)
      Registry.call { |e| Native.registry_layer_open(handle, repo, digest, out, e) }
      reader = FFI::AutoPointer.new(out.read_pointer, Native.method(:registry_reader_free))
      whole = block_given? ? nil : String.new(encoding: Encoding::BINARY)
      buf = FFI::MemoryPointer.new(:uint8, CHUNK)
      n = FFI::MemoryPointer.new(:size_t)
      loop do
        Registry.call { |e| Native.registry_reader_read(reader, buf, CHUNK, n, e) }
        count = n.read(:size_t)
        break if count.zero?

        chunk = buf.read_bytes(count)
        whole ? whole << chunk : yield(chunk)
      end
      whole || Native.registry_reader_verified(reader)
    ensure
      reader&.free
    end

    # The next bytes io#read gives for an upload; "" at the end.
    def read_upload_chunk(io, length)
      chunk = io.read(length)
      return "" if chunk.nil?
      raise TypeError, "#{io.class}#read returned #{chunk.class}, not a String" unless chunk.is_a?(String)

      chunk
    end

    def configure(builder, username, password, token, docker_config, ca_file, insecure, api, timeout_ms, user_agent)
      Registry.call { |e| Native.registry_client_builder_basic_auth(builder, username, password.to_s, e) } if username
      Registry.call { |e| Native.registry_client_builder_bearer_token(builder, token, e) } if token
      unless docker_config.nil?
        path = { true => nil, false => "" }.fetch(docker_config) { docker_config.to_s }
        Registry.call { |e| Native.registry_client_builder_docker_config(builder, path, e) }
      end
      Registry.call { |e| Native.registry_client_builder_ca_file(builder, ca_file.to_s, e) } if ca_file
      Registry.call { |e| Native.registry_client_builder_insecure(builder, true, e) } if insecure
      Registry.call { |e| Native.registry_client_builder_timeout_ms(builder, timeout_ms, e) } if timeout_ms
      Registry.call { |e| Native.registry_client_builder_user_agent(builder, user_agent, e) } if user_agent
      Registry.call { |e| Native.registry_client_builder_api(builder, API.fetch(api), e) }
    end
  end
end

# Whole images: pull into an OCI image layout, push from one, copy between
# repositories or registries, with a progress block; a manifest's HEAD and
# an image's config.
module Registry
  module Native
    callback :registry_progress_fn, %i[pointer string uint64 uint64], :int32
    attach_function :registry_client_builder_parallel, %i[pointer uint32 err_out], :status
    attach_function :registry_image_pull,
                    %i[pointer string string string string registry_progress_fn pointer pointer err_out],
                    :status, blocking: true
    attach_function :registry_image_push,
                    %i[pointer string string string string registry_progress_fn pointer pointer err_out],
                    :status, blocking: true
    attach_function :registry_image_copy,
                    %i[pointer string string pointer string string string registry_progress_fn pointer pointer err_out],
                    :status, blocking: true
    attach_function :registry_manifest_head,
                    %i[pointer string string pointer pointer pointer err_out], :status, blocking: true
    attach_function :registry_image_config, %i[pointer string string string pointer err_out], :status, blocking: true
  end

  # The progress block of #pull, #push and #copy is called as
  # `{ |digest, done, total| ... }` for every blob and manifest the call
  # moves: first with done == 0, then as bytes move, last with done == total
  # (also for a blob skipped because it was there, or mounted); total is 0
  # when unknown, and a report may come twice. It runs on the calling thread
  # and fiber, never concurrently, and its value is ignored. Leaving it
  # early stops the transfer: an exception raised in it comes out of the
  # call as it was (the same object), and break, throw, return or
  # Thread#kill leave the call as they leave any block; either way the
  # library has cancelled the transfer and returned (a pull names nothing
  # new in its layout and keeps its verified and partial blobs for a later
  # pull to resume; a push cancels its open upload sessions) before the jump
  # goes on. Thread#raise (Timeout) reaches a transfer in its block; without
  # a block, once it ends.
  class Client
    # Pulls repo:reference (a tag or a digest) into the OCI image layout at
    # dir (created if missing; an existing layout gains the image, blobs it
    # has are not fetched again), and returns the digest of the manifest or
    # index written there. The image is named by its tag in the layout
    # (skopeo's oci:DIR:TAG), a pull by digest by the digest. platform:
    # "os/arch[/variant]" keeps one image of an index ("linux/arm64" picks
    # arm64/v8); an Array of two or more keeps only those entries in a new
    # index (the children keep their digests); nil keeps every platform.
    # referrers: true also carries every referrer (signatures, SBOMs),
    # recursively, listed in index.json without a name. See above for the
    # block.
    def pull(repo, reference, dir, platform: nil, referrers: false, &progress)
      with_handle do |h|
        Registry.with_transfer_options(platform, referrers) do |opts|
          image_call(progress) do |cb, out, e|
            if opts
              Native.registry_image_pull_with(h, repo, reference, opts, dir.to_s, cb, nil, out, e)
            else
              Native.registry_image_pull(h, repo, reference, platform, dir.to_s, cb, nil, out, e)
            end
          end
        end
      end
    end

    # Pushes the image named ref: in the OCI image layout at dir (nil: the
    # layout's only image) to repo:tag and returns its digest. Blobs the
    # registry has are skipped; manifests go byte for byte, last.
    def push(dir, repo, tag, ref: nil, &progress)
      with_handle do |h|
        image_call(progress) do |cb, out, e|
          Native.registry_image_push(h, dir.to_s, ref, repo, tag, cb, nil, out, e)
        end
      end
    end

    # Copies src_repo:reference from this client's registry to repo:tag on
    # to: (another Client, or this one) and returns the digest copied. tag:
    # nil keeps the tag (by digest only, when reference is a digest). On one
    # registry blobs are mounted; between two, their bytes stream from one
    # to the other, verified, without touching the disk. Manifests are
    # copied byte for byte, so digests stay. platform: and referrers: as
    # for #pull (a copy pushes referrers by digest). Both
    # clients count the copy as a call in flight: closing either waits for
    # it.
    def copy(src_repo, reference, repo:, to: self, tag: nil, platform: nil, referrers: false, &progress)
      raise TypeError, "to: must be a Registry::Client, not #{to.class}" unless to.is_a?(Client)

      with_handle do |src|
        to.with_handle do |dst|
          Registry.with_transfer_options(platform, referrers) do |opts|
            image_call(progress) do |cb, out, e|
              if opts
                Native.registry_image_copy_with(src, src_repo, reference, dst, repo, tag, opts, cb, nil, out, e)
              else
                Native.registry_image_copy(src, src_repo, reference, dst, repo, tag, platform, cb, nil, out, e)
              end
            end
          end
        end
      end
    end

    # The manifest's digest, media type and size (0 when the registry sent
    # none), from a HEAD request: {digest:, media_type:, size:}.
    def manifest_head(repo, reference)
      digest = FFI::MemoryPointer.new(:pointer)
      media = FFI::MemoryPointer.new(:pointer)
      size = FFI::MemoryPointer.new(:uint64)
      client_call { |h, e| Native.registry_manifest_head(h, repo, reference, digest, media, size, e) }
      { digest: Registry.take_string(digest.read_pointer), media_type: Registry.take_string(media.read_pointer),
        size: size.read_uint64 }
    end

    # The image's config, parsed (a Hash); for an index, the platform's
    # image (default linux/amd64).
    def config(repo, reference, platform: nil)
      JSON.parse(config_json(repo, reference, platform: platform))
    end

    # The image's config as the registry stores it (a binary String, checked
    # against its digest, so its SHA-256 is the image id).
    def config_json(repo, reference, platform: nil)
      out_call(:take_buf) { |h, out, e| Native.registry_image_config(h, repo, reference, platform, out, e) }
    end

    protected :with_handle # #copy holds the other client's handle too

    private

    # Runs a whole-image call and returns the digest it gave: yields the
    # progress callback (or nil), the digest out-pointer and the error
    # out-pointer, and expects the status back.
    #
    # The native call runs on a fiber of its own, whose callback hands each
    # report back to the calling fiber with Fiber.yield. The caller's block
    # therefore runs with no C frame below it: it may raise, break, throw or
    # return like any block, and no jump ever crosses the library's frames.
    # If it leaves early, the ensure clause resumes the native fiber with 1
    # (cancel) until the library has returned, then the jump goes on.
    # Interrupts (Thread#raise, #kill) are let through in the block only:
    # nowhere else can they stop this method between starting the call and
    # taking its outcome. (The native fiber masks them itself too, in case
    # the mask stack, the thread's today, becomes the fiber's.)
    def image_call(progress, take = :take_string, &call)
      out = FFI::MemoryPointer.new(:pointer)
      err = FFI::MemoryPointer.new(:pointer)
      status = nil
      native = Fiber.new(blocking: true) do
        callback = progress && proc { |_userdata, digest, done, total| Fiber.yield(digest, done, total) }
        Thread.handle_interrupt(Object => :never) { status = call.call(callback, out, err) }
        nil
      end
      outcome = nil
      Thread.handle_interrupt(Object => :never) do
        report = native.resume
        while native.alive?
          Thread.handle_interrupt(Object => :immediate) { progress.call(*report) }
          report = native.resume(0)
        end
      ensure
        native.resume(1) while native.alive? # the block left early: cancel, let the call return
        outcome = take_image_outcome(status, out, err, take)
      end
      raise outcome if outcome.is_a?(Exception)

      outcome
    end

    # The digest (a String; with take: :take_list, the list) or the Error a
    # whole-image call left in its out-pointers, which are freed; nil when
    # the call never returned.
    def take_image_outcome(status, out, err, take = :take_string)
      return nil if status.nil?
      return Registry.public_send(take, out.read_pointer) if status.zero?

      Registry.error_from(err.read_pointer, status)
    end
  end
end

# Credentials the way imgpkg and binderhub users configure them (the
# env_credentials: and auth_key: keywords of Client.new), and clients
# restricted to one repository.
module Registry
  module Native
    attach_function :registry_client_builder_env_credentials, %i[pointer string err_out], :status
    attach_function :registry_client_builder_auth_key, %i[pointer string err_out], :status
    attach_function :registry_client_restrict, %i[pointer string pointer err_out], :status
  end

  class Client
    # A new Client that serves only repo, sharing this one's connections,
    # token cache and credentials (imgpkg's CloneWithSingleAuth): a call
    # naming another repository, and #search, raise InvalidArgument before
    # anything is sent. Sends nothing itself. Close either client in any
    # order (each on its own, or at GC).
    def restrict(repo)
      out = FFI::MemoryPointer.new(:pointer)
      client_call { |h, e| Native.registry_client_restrict(h, repo, out, e) }
      Client.allocate.tap { |c| c.send(:adopt, out.read_pointer) }
    end
  end
end

# What the Rust API tells beyond the first calls (ping detail, the v1 tag map,
# an image id for a platform, the catalog) and imgpkg's batches (the first
# image that exists, every image of a layout pushed at once).
module Registry
  module Native
    attach_function :registry_client_builder_ca_pem, %i[pointer buffer_in size_t err_out], :status
    attach_function :registry_client_builder_identity_token, %i[pointer string err_out], :status
    attach_function :registry_ping_info, %i[pointer pointer err_out], :status, blocking: true
    attach_function :registry_v1_tags, %i[pointer string pointer err_out], :status, blocking: true
    attach_function :registry_image_id_for, %i[pointer string string string pointer err_out], :status, blocking: true
    attach_function :registry_catalog, %i[pointer pointer err_out], :status, blocking: true
    attach_function :registry_first_image_exists, %i[pointer string pointer size_t pointer err_out], :status,
                    blocking: true
    attach_function :registry_image_push_all,
                    %i[pointer string string registry_progress_fn pointer pointer err_out], :status, blocking: true
  end

  class Client
    # What the registry said to a ping: {api: :v2 | :v1, api_version_header:
    # ("registry/2.0" or nil; v2), registry_version: (nil or the
    # X-Docker-Registry-Version header; v1), standalone: (true / false on v1,
    # nil on v2)}.
    def ping_info
      info = JSON.parse(out_call(:take_buf) { |h, out, e| Native.registry_ping_info(h, out, e) })
      { api: info["api"].to_sym, api_version_header: info["api_version_header"],
        registry_version: info["registry_version"], standalone: info["standalone"] }
    end

    # v1 only: every tag of repo with the image id it names, a Hash
    # {"latest" => "<64 hex>", ...}.
    def v1_tags(repo)
      JSON.parse(out_call(:take_buf) { |h, out, e| Native.registry_v1_tags(h, repo, out, e) })
    end

    # The image id of repo:reference for platform ("os/arch[/variant]"): v2,
    # the config digest of that platform's manifest of an index (or of the
    # manifest itself); v1, the image id the tag names.
    def image_id_for(repo, reference, platform)
      out_call(:take_string) { |h, out, e| Native.registry_image_id_for(h, repo, reference, platform, out, e) }
    end

    # Every repository of a v2 registry (/v2/_catalog, all pages).
    def catalog
      out_call(:take_list) { |h, out, e| Native.registry_catalog(h, out, e) }
    end

    # The first of digests (an Array of "sha256:..." Strings) whose manifest
    # exists in repo, asked with one HEAD each, in order, and nothing else;
    # raises Registry::NotFound when none does.
    def first_image_exists(repo, digests)
      strings = digests.map { |d| FFI::MemoryPointer.from_string(d.to_s) }
      array = FFI::MemoryPointer.new(:pointer, [strings.size, 1].max)
      array.put_array_of_pointer(0, strings)
      out_call(:take_string) do |h, out, e|
        Native.registry_first_image_exists(h, repo, array, strings.size, out, e)
      end
    end

    # Pushes every image named in the OCI image layout at dir to repo, each
    # under its name as the tag, as one transfer (one parallel budget, a blob
    # that several share moved once, one progress stream: the block as for
    # #push). Returns {tag => digest} in index.json's order. Every entry must
    # be named with a valid tag (an unnamed one raises InvalidArgument before
    # anything is sent).
    def push_all(dir, repo, &progress)
      lines = with_handle do |h|
        image_call(progress, :take_list) do |cb, out, e|
          Native.registry_image_push_all(h, dir.to_s, repo, cb, nil, out, e)
        end
      end
      lines.to_h { |line| line.split(" ", 2) }
    end
  end
end
require_relative "registry/transfer"
require_relative "registry/artifacts"
require_relative "registry/ratelimit"
require_relative "registry/sync"
require_relative "registry/archives"
