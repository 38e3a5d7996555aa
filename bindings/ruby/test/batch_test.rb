# frozen_string_literal: true

# What the Rust API tells beyond the first calls (ping_info, v1_tags,
# image_id_for, catalog, ca_pem:, identity_token:) and imgpkg's batches
# (first_image_exists, push_all), against the real-registry fixtures.

require "minitest/autorun"
require "digest"
require "json"
require "open3"
require "tmpdir"
require "registry"

class RegistryBatchTest < Minitest::Test
  MISSING1 = "sha256:#{'1' * 64}"
  MISSING2 = "sha256:#{'2' * 64}"

  def var(mode, suffix)
    ENV["REGISTRY_TEST_#{mode.upcase}_#{suffix}"]
  end

  def fact(name)
    ENV.fetch("REGISTRY_TEST_#{name}")
  end

  def client(mode, **opts)
    defaults = { ca_file: var(mode, "CA") }
    defaults.merge!(username: var(mode, "USER"), password: var(mode, "PASS")) if var(mode, "USER")
    c = Registry::Client.new(var(mode, "ADDR"), **defaults, **opts)
    (@clients ||= []) << c
    c
  end

  def teardown
    @clients&.each(&:close)
  end

  # The request lines ("METHOD /path") of mode's access log sent with
  # User-Agent ua, those answered 401 (a token registry's challenge) aside.
  def requests(mode, ua)
    File.readlines(var(mode, "LOG")).select { |l| l.chomp.end_with?("\"#{ua}\"") && !l.include?("\" 401 ") }
        .map { |l| l.split('"')[1].sub(/ HTTP\/[\d.]+\z/, "") }
  end

  def test_ping_info_v2_and_v1
    info = client("anon").ping_info
    assert_equal :v2, info[:api]
    assert_equal "registry/2.0", info[:api_version_header]
    assert_nil info[:standalone]
    v1 = client("v1", api: :v1).ping_info
    assert_equal :v1, v1[:api]
    assert_equal false, v1[:standalone]
  end

  def test_v1_tags_is_the_tag_map
    tags = client("v1").v1_tags("fixtures/v1app")
    assert_equal({ "base" => fact("V1_PARENT_ID"), "latest" => fact("V1_IMAGE_ID") }, tags)
    assert_raises(Registry::Unsupported) { client("anon").v1_tags("fixtures/app") }
  end

  def test_image_id_for_a_platform_and_the_catalog
    c = client("anon")
    assert_equal fact("ARM64_IMAGE_ID"), c.image_id_for("fixtures/multi", "latest", "linux/arm64")
    assert_equal fact("IMAGE_ID"), c.image_id_for("fixtures/multi", "latest", "linux/amd64")
    assert_raises(Registry::NotFound) { c.image_id_for("fixtures/multi", "latest", "linux/s390x") }
    assert_raises(Registry::InvalidArgument) { c.image_id_for("fixtures/multi", "latest", "linux") }
    assert_includes c.catalog, "fixtures/multi"
  end

  def test_ca_pem_trusts_certificates_from_memory
    pem = File.binread(var("tls", "CA"))
    assert_equal :v2, Registry::Client.new(var("tls", "ADDR"), ca_pem: pem).ping
    assert_raises(Registry::Tls) { Registry::Client.new(var("tls", "ADDR")).ping }
    assert_raises(Registry::InvalidArgument) { Registry::Client.new(var("tls", "ADDR"), ca_pem: "not a pem") }
  end

  def test_identity_token_at_the_token_server
    c = client("token", username: nil, identity_token: fact("TOKEN_REFRESH"))
    assert_equal %w[v1 v2], c.tags("fixtures/app")
    wrong = Registry::Client.new(var("token", "ADDR"), ca_file: var("token", "CA"), identity_token: "wrong-r3fresh")
    e = assert_raises(Registry::Unauthorized) { wrong.tags("fixtures/app") }
    refute_includes e.message, "wrong-r3fresh"
    wrong.close
  end

  def test_first_image_exists_sends_heads_only
    ua = "ruby-first-image-#{Process.pid}"
    app = client("anon").manifest_head("fixtures/app", "v1")[:digest]
    c = client("anon", user_agent: ua)
    index = fact("INDEX_DIGEST")
    assert_equal app, c.first_image_exists("fixtures/app", [MISSING1, MISSING2, app, index])
    manifests = requests("anon", ua).grep(%r{/manifests/})
    assert_equal [MISSING1, MISSING2, app].map { |d| "HEAD /v2/fixtures/app/manifests/#{d}" }, manifests
    assert_raises(Registry::NotFound) { c.first_image_exists("fixtures/app", [MISSING1, index]) }
    assert_raises(Registry::NotFound) { c.first_image_exists("fixtures/app", []) }
    assert_raises(Registry::InvalidArgument) { c.first_image_exists("fixtures/app", [app, "sha256:nothex"]) }
  end

  def test_push_all_pushes_every_named_image_once_per_blob
    ua = "ruby-push-all-#{Process.pid}"
    anon = client("anon")
    token = client("token", user_agent: ua)
    app = anon.manifest_head("fixtures/app", "v1")[:digest]
    layer = fact("LAYER_DIGEST")
    Dir.mktmpdir do |dir|
      anon.pull("fixtures/app", "v1", dir)
      anon.pull("fixtures/multi", "latest", dir)
      reports = []
      pushed = token.push_all(dir, "ruby/all") { |d, done, total| reports << [d, done, total] }
      assert_equal({ "v1" => app, "latest" => fact("INDEX_DIGEST") }, pushed)
      assert_equal %w[v1 latest], pushed.keys, "index.json's order"
      assert_equal 1, reports.count { |d, done, _| d == layer && done.zero? }, "the shared layer moves once"
      assert_equal 1, requests("token", ua).count("HEAD /v2/ruby/all/blobs/#{layer}")
      flags = ["--cert-dir=#{var('token', 'CERTS_DIR')}/#{var('token', 'ADDR')}",
               "--creds=#{var('token', 'USER')}:#{var('token', 'PASS')}"]
      raw, err, status = Open3.capture3("skopeo", "--insecure-policy", "inspect", "--raw", *flags,
                                        "docker://#{var('token', 'ADDR')}/ruby/all:v1")
      assert status.success?, err
      assert_equal app, "sha256:#{Digest::SHA256.hexdigest(raw)}", "skopeo reads it back byte for byte"

      # An unnamed entry is refused before anything is sent.
      index = JSON.parse(File.read(File.join(dir, "index.json")))
      index["manifests"][1].delete("annotations")
      File.write(File.join(dir, "index.json"), JSON.generate(index))
      e = assert_raises(Registry::InvalidArgument) { token.push_all(dir, "ruby/unnamed") }
      assert_match(/entry 1/, e.message)
      assert_empty requests("token", ua).grep(%r{ruby/unnamed})
    end
  end

  def test_push_all_block_that_raises_cancels
    anon = client("anon")
    Dir.mktmpdir do |dir|
      anon.pull("fixtures/layers", "v1", dir)
      boom = Class.new(StandardError)
      assert_raises(boom) { client("token").push_all(dir, "ruby/cancelled") { raise boom } }
      assert_raises(Registry::NotFound) { client("token").manifest_head("ruby/cancelled", "v1") }
    end
  end
end
