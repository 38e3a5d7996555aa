# frozen_string_literal: true

# Ruby wrapper tests against the real-registry fixtures
# (ffi-tests/fixtures/registry.py run sets REGISTRY_TEST_*).

require "minitest/autorun"
require "digest"
require "tmpdir"
require "registry"

module Fixture
  MODES = %w[anon basic token tls].freeze

  def self.var(mode, suffix)
    ENV["REGISTRY_TEST_#{mode.upcase}_#{suffix}"]
  end

  def self.client(mode, **opts)
    defaults = { ca_file: var(mode, "CA") }
    defaults.merge!(username: var(mode, "USER"), password: var(mode, "PASS")) if var(mode, "USER")
    Registry::Client.new(var(mode, "ADDR"), **defaults, **opts)
  end

  def self.fact(name)
    ENV.fetch("REGISTRY_TEST_#{name}")
  end
end

class RegistryStaticTest < Minitest::Test
  def test_version_and_error_classes
    assert_match(/\A\d+\.\d+\.\d+/, Registry.version)
    assert Registry::NotFound < Registry::Error
    assert Registry::Tls < Registry::Error
    assert Registry::DigestMismatch < Registry::Error
    assert_equal "NOT_FOUND", Registry::Native.registry_status_name(8).read_string
  end

  # Every code of the library's status table has a name and an error class.
  def test_every_status_code
    assert_equal 19, Registry::STATUS_NAMES.size
    assert_equal :ok, Registry::STATUS_NAMES[0]
    Registry::STATUS_NAMES.each_with_index.drop(1).each do |name, code|
      assert_equal name.to_s.upcase, Registry::Native.registry_status_name(code).read_string
      klass = Registry.const_get(name.to_s.split("_").map(&:capitalize).join)
      err = Registry.error_from(FFI::Pointer::NULL, code)
      assert_instance_of klass, err
      assert_equal name, err.status
    end
    assert_equal Registry::AlreadyExists, Registry::ERROR_CLASSES[:already_exists]
    assert_equal "UNKNOWN", Registry::Native.registry_status_name(19).read_string
  end

  def test_bad_arguments
    err = assert_raises(Registry::InvalidArgument) { Registry::Client.new("ftp://nowhere") }
    assert_equal :invalid_argument, err.status
    assert_raises(Registry::InvalidArgument) { Registry::Client.new("localhost:1", timeout_ms: 0) }
    assert_raises(Registry::InvalidArgument) { Registry::Client.new("localhost:1", api: :v3) }
    assert_raises(Registry::Io) { Registry::Client.new("localhost:1", ca_file: "/nonexistent/ca.pem") }
    c = Registry::Client.new("localhost:1")
    assert_raises(Registry::InvalidArgument) { c.tags("Bad/Name") }
    assert_raises(Registry::InvalidArgument) { c.tags("a\xff".b) }
    c.close
    assert_raises(IOError) { c.tags("a") }
  end
end

class RegistryReadTest < Minitest::Test
  APP = "fixtures/app"
  MISSING = "sha256:#{'0' * 64}"

  Fixture::MODES.each do |mode|
    define_method("test_read_flows_#{mode}") do
      c = Fixture.client(mode)
      assert_equal :v2, c.ping
      assert_equal %w[v1 v2], c.tags(APP)
      assert_equal Fixture.fact("IMAGE_ID"), c.image_id(APP, "v1")
      assert_equal Fixture.fact("IMAGE_ID"), c.image_id("fixtures/multi", "latest")
      layer = Fixture.fact("LAYER_DIGEST")
      assert c.layer_exists?(APP, layer)
      refute c.layer_exists?(APP, MISSING)

      whole = c.layer(APP, layer)
      assert_equal Fixture.fact("LAYER_SIZE").to_i, whole.bytesize
      assert_equal Encoding::BINARY, whole.encoding
      assert_equal layer, "sha256:#{Digest::SHA256.hexdigest(whole)}"
      chunks = []
      assert_equal(true, c.layer(APP, layer) { |chunk| chunks << chunk }, "the digest was checked")
      assert_operator chunks.size, :>, 1
      assert_equal whole, chunks.join

      Dir.mktmpdir do |dir|
        path = File.join(dir, "layer.tar.gz")
        c.layer_to_file(APP, layer, path)
        assert_equal whole, File.binread(path)
        missing = File.join(dir, "missing")
        err = assert_raises(Registry::NotFound) { c.layer_to_file(APP, MISSING, missing) }
        assert_equal 404, err.http_status
        refute File.exist?(missing)
        assert_equal ["layer.tar.gz"], Dir.children(dir)
      end

      m = c.manifest("fixtures/oci", "v1")
      assert_equal "application/vnd.oci.image.manifest.v1+json", m.media_type
      assert_equal m.digest, "sha256:#{Digest::SHA256.hexdigest(m.body)}"

      found = c.search("fixtures/multi", limit: 5)
      assert_equal 1, found["num_results"]
      assert_equal "fixtures/multi", found["results"][0]["name"]
      page = c.search_page("FIXTURES/MULTI", page: 1, limit: 1)
      assert_equal [1, 1, 1, 1], page.values_at("num_results", "num_pages", "page_size", "page")
      assert_equal ["fixtures/multi"], page["results"].map { |r| r["name"] }
      assert_equal false, page["results"][0]["is_trusted"]
      assert_equal [], c.search_page("FIXTURES/MULTI", page: 2, limit: 1)["results"]
      assert_raises(Registry::InvalidArgument) { c.search_page("x", page: 0) }

      err = assert_raises(Registry::NotFound) { c.tags("fixtures/missing") }
      assert_equal :not_found, err.status
      assert_equal "NAME_UNKNOWN", err.code
      assert_equal 404, err.http_status
      c.close
    end
  end

  %w[basic token].each do |mode|
    define_method("test_wrong_password_#{mode}") do
      c = Fixture.client(mode, password: "wrong-pa55word")
      err = assert_raises(Registry::Unauthorized) { c.tags(APP) }
      refute_includes err.message, "wrong-pa55word"
      assert_equal 401, err.http_status
    end
  end

  def test_pull_only_user_has_no_catalog
    c = Fixture.client("token", username: Fixture.var("token", "RO_USER"),
                                password: Fixture.var("token", "RO_PASS"))
    assert_equal %w[v1 v2], c.tags(APP)
    assert_raises(Registry::Forbidden) { c.search("app") }
  end

  def test_tls_without_ca
    c = Registry::Client.new(Fixture.var("tls", "ADDR"))
    assert_raises(Registry::Tls) { c.ping }
  end

  def test_docker_config
    Dir.mktmpdir do |dir|
      path = File.join(dir, "config.json")
      File.write(path, JSON.generate("auths" => { Fixture.var("basic", "ADDR") =>
        { "auth" => ["alice:#{Fixture.var('basic', 'PASS')}"].pack("m0") } }))
      c = Registry::Client.new(Fixture.var("basic", "ADDR"), docker_config: path, ca_file: Fixture.var("basic", "CA"))
      assert_equal %w[v1 v2], c.tags(APP)
      File.write(path, "{ nope")
      err = assert_raises(Registry::InvalidArgument) do
        Registry::Client.new(Fixture.var("basic", "ADDR"), docker_config: path)
      end
      assert_includes err.message, path
    end
  end

  def test_docker_config_off
    Dir.mktmpdir do |dir|
      File.write(File.join(dir, "config.json"), JSON.generate("auths" => { Fixture.var("basic", "ADDR") =>
        { "auth" => ["alice:#{Fixture.var('basic', 'PASS')}"].pack("m0") } }))
      old = ENV.fetch("DOCKER_CONFIG", nil)
      ENV["DOCKER_CONFIG"] = dir
      begin
        addr = Fixture.var("basic", "ADDR")
        ca = Fixture.var("basic", "CA")
        assert_equal %w[v1 v2], Registry::Client.new(addr, ca_file: ca).tags(APP)
        assert_equal %w[v1 v2], Registry::Client.new(addr, ca_file: ca, docker_config: true).tags(APP)
        ["", false].each do |off|
          assert_raises(Registry::Unauthorized, off.inspect) do
            Registry::Client.new(addr, ca_file: ca, docker_config: off).tags(APP)
          end
        end
      ensure
        ENV["DOCKER_CONFIG"] = old
      end
    end
  end

  def test_credential_helper_from_the_address_alone
    Dir.mktmpdir do |dir|
      helper = File.join(dir, "docker-credential-rbtest")
      File.write(helper, "#!/bin/sh\ncat >/dev/null\necho '#{JSON.generate('ServerURL' => 'x',
                                                                             'Username' => 'alice',
                                                                             'Secret' => Fixture.var('basic', 'PASS'))}'\n")
      File.chmod(0o755, helper)
      File.write(File.join(dir, "config.json"), JSON.generate("credsStore" => "rbtest"))
      old = ENV.to_h.slice("PATH", "DOCKER_CONFIG")
      ENV["PATH"] = "#{dir}:#{ENV['PATH']}"
      ENV["DOCKER_CONFIG"] = dir
      begin
        %w[basic token].each do |mode|
          c = Registry::Client.new(Fixture.var(mode, "ADDR"), certs_dir: Fixture.var(mode, "CERTS_DIR"))
          assert_equal %w[v1 v2], c.tags(APP), mode
        end
      ensure
        ENV["PATH"] = old["PATH"]
        ENV["DOCKER_CONFIG"] = old["DOCKER_CONFIG"]
      end
    end
  end

  def test_mutual_tls_from_certs_d
    c = Registry::Client.new(Fixture.var("mtls", "ADDR"), certs_dir: Fixture.var("mtls", "CERTS_DIR"),
                                                          max_retries: 0)
    assert_equal %w[v1 v2], c.tags(APP)
    assert_raises(Registry::Tls) { Registry::Client.new(Fixture.var("mtls", "ADDR"), ca_file: Fixture.var("mtls", "CA")).ping }
  end

  def test_proxy
    c = Registry::Client.new(Fixture.var("anon", "ADDR"), proxy: ENV.fetch("REGISTRY_TEST_PROXY_URL"))
    assert_equal %w[v1 v2], c.tags(APP)
    dead = Registry::Client.new(Fixture.var("anon", "ADDR"), proxy: "http://127.0.0.1:1", max_retries: 0)
    assert_raises(Registry::Network) { dead.tags(APP) }
  end

  def test_one_client_many_threads
    c = Fixture.client("token")
    results = Array.new(6) { |i| Thread.new { c.image_id(APP, i.even? ? "v1" : "v2") } }.map(&:value)
    assert_equal [Fixture.fact("IMAGE_ID")] * 6, results
  end
end
