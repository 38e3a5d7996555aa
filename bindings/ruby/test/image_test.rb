# frozen_string_literal: true

# Whole images through the Ruby wrapper, against two real registries at once
# (anon: plain HTTP; token: HTTPS with token auth), with skopeo reading back
# every layout and image the wrapper writes.

require "minitest/autorun"
require "digest"
require "json"
require "open3"
require "tmpdir"
require "registry"

class RegistryImageTest < Minitest::Test
  MODES = %w[anon token].freeze
  REF_NAME = "org.opencontainers.image.ref.name"

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

  def sha256(bytes)
    "sha256:#{Digest::SHA256.hexdigest(bytes)}"
  end

  # `skopeo --insecure-policy ARGS`: its stdout; fails the test otherwise.
  def skopeo(*args)
    out, err, status = Open3.capture3("skopeo", "--insecure-policy", *args)
    assert status.success?, "skopeo #{args.join(' ')}: #{err}"
    out
  end

  # The digest of what skopeo reads as NAME in the OCI layout at dir.
  def skopeo_layout_digest(dir, name)
    sha256(skopeo("inspect", "--raw", "oci:#{dir}:#{name}"))
  end

  # The digest of what skopeo reads as IMAGE (repo:tag) in mode's registry.
  def skopeo_registry_digest(mode, image)
    flags = if var(mode, "CERTS_DIR")
              ["--cert-dir=#{var(mode, 'CERTS_DIR')}/#{var(mode, 'ADDR')}"]
            else
              ["--tls-verify=false"]
            end
    flags << "--creds=#{var(mode, 'USER')}:#{var(mode, 'PASS')}" if var(mode, "USER")
    sha256(skopeo("inspect", "--raw", *flags, "docker://#{var(mode, 'ADDR')}/#{image}"))
  end

  # skopeo copies NAME of the layout at dir (every platform) to a dir: target.
  def skopeo_reads_everything(dir, name)
    Dir.mktmpdir { |out| skopeo("copy", "--quiet", "--all", "oci:#{dir}:#{name}", "dir:#{out}") }
  end

  # The layout's names: {name => index.json entry}; {} without index.json.
  def names(dir)
    path = File.join(dir, "index.json")
    return {} unless File.exist?(path)

    JSON.parse(File.read(path))["manifests"].to_h { |m| [m.dig("annotations", REF_NAME), m] }
  end

  # A progress block that records every report, by digest.
  def recorder
    reports = Hash.new { |h, k| h[k] = [] }
    [reports, proc { |digest, done, total| reports[digest] << [done, total] }]
  end

  # Every digest of repo:reference (manifests, configs, layers), read with
  # client.manifest.
  def image_digests(client, repo, reference)
    m = client.manifest(repo, reference)
    doc = JSON.parse(m.body)
    children = (doc["manifests"] || []).flat_map { |d| image_digests(client, repo, d["digest"]) }
    blobs = [doc["config"], *doc["layers"]].compact.map { |d| d["digest"] }
    [m.digest, *blobs, *children].uniq.sort
  end

  # Every digest of the image was reported, with 0 first, its total last,
  # never backwards.
  def assert_reports(reports, digests)
    assert_equal digests, reports.keys.sort
    reports.each do |digest, r|
      assert_equal 0, r.first[0], "#{digest} starts at 0"
      total = r.first[1]
      assert_equal [total, total], r.last, "#{digest} ends at its total"
      assert_equal r.map(&:first).sort, r.map(&:first), "#{digest} in order"
    end
  end

  MODES.each do |mode|
    define_method("test_pull_into_a_layout_that_skopeo_reads_#{mode}") do
      c = client(mode, parallel: 2)
      Dir.mktmpdir do |dir|
        reports, block = recorder
        caller = [Thread.current, Fiber.current]
        Thread.current[:image_test] = mode # fiber-local: the block must see it
        digest = c.pull("fixtures/layers", "v1", dir) do |*report|
          assert_equal caller, [Thread.current, Fiber.current], "the block runs on the caller's thread and fiber"
          assert_equal mode, Thread.current[:image_test]
          block.call(*report)
        end
        assert_equal fact("LAYERS_DIGEST"), digest
        assert_reports reports, image_digests(c, "fixtures/layers", "v1")
        assert_equal 5, reports.size, "a manifest, a config, three layers"
        assert_equal digest, names(dir).fetch("v1")["digest"]
        assert_equal digest, skopeo_layout_digest(dir, "v1")

        # The layout gains the index of every platform, under its own tag.
        index = c.pull("fixtures/multi", "latest", dir)
        assert_equal fact("INDEX_DIGEST"), index
        assert_equal %w[latest v1], names(dir).keys.sort
        assert_equal index, skopeo_layout_digest(dir, "latest")
        assert_equal digest, skopeo_layout_digest(dir, "v1")
        skopeo_reads_everything(dir, "latest")
        skopeo_reads_everything(dir, "v1")
      ensure
        Thread.current[:image_test] = nil
      end
    end

    define_method("test_pull_one_platform_#{mode}") do
      c = client(mode)
      Dir.mktmpdir do |dir|
        digest = c.pull("fixtures/multi", "latest", dir, platform: "linux/arm64")
        entry = names(dir).fetch("latest")
        assert_equal digest, entry["digest"]
        assert_equal %w[linux arm64 v8], entry["platform"].values_at("os", "architecture", "variant")
        config = fact("ARM64_IMAGE_ID")
        assert_equal config, sha256(File.binread(File.join(dir, "blobs", "sha256", config.delete_prefix("sha256:"))))
        assert_equal digest, skopeo_layout_digest(dir, "latest")
        skopeo_reads_everything(dir, "latest")
      end
    end
  end

  def test_push_a_layout_to_the_token_registry
    t = client("token")
    Dir.mktmpdir do |dir|
      client("anon").pull("fixtures/layers", "v1", dir)
      reports, block = recorder
      digest = t.push(dir, "ruby-images/pushed", "v1", &block)
      assert_equal fact("LAYERS_DIGEST"), digest, "pushed byte for byte"
      assert_reports reports, image_digests(t, "ruby-images/pushed", "v1")
      assert_equal digest, skopeo_registry_digest("token", "ruby-images/pushed:v1")

      # Two images in the layout: ref: names the one to push.
      client("anon").pull("fixtures/multi", "latest", dir)
      assert_raises(Registry::InvalidArgument) { t.push(dir, "ruby-images/pushed", "v2") }
      assert_raises(Registry::NotFound) { t.push(dir, "ruby-images/pushed", "v2", ref: "nope") }
      index = t.push(dir, "ruby-images/pushed", "multi", ref: "latest")
      assert_equal fact("INDEX_DIGEST"), index
      assert_equal index, skopeo_registry_digest("token", "ruby-images/pushed:multi")
    end
  end

  def test_copy_between_registries_and_within_one
    a = client("anon")
    t = client("token")
    reports, block = recorder
    digest = a.copy("fixtures/multi", "latest", to: t, repo: "ruby-images/copied", &block)
    assert_equal fact("INDEX_DIGEST"), digest
    assert_reports reports, image_digests(a, "fixtures/multi", "latest")
    assert_equal digest, skopeo_registry_digest("token", "ruby-images/copied:latest")

    arm = a.copy("fixtures/multi", "latest", to: t, repo: "ruby-images/copied", tag: "arm64", platform: "linux/arm64")
    assert_equal arm, t.manifest_head("ruby-images/copied", "arm64")[:digest]
    assert_equal fact("ARM64_IMAGE_ID"), t.image_id("ruby-images/copied", "arm64")

    # Within one registry (to: defaults to the client itself): mounted.
    reports, block = recorder
    layers = t.copy("fixtures/layers", "v1", repo: "ruby-images/mounted", tag: "v2", &block)
    assert_equal fact("LAYERS_DIGEST"), layers
    assert_reports reports, image_digests(t, "fixtures/layers", "v1")
    assert_equal layers, skopeo_registry_digest("token", "ruby-images/mounted:v2")
    mounts = File.readlines(var("token", "LOG")).grep(%r{/v2/ruby-images/mounted/blobs/uploads/})
    refute_empty mounts
    assert(mounts.all? { |l| l.include?("POST") && l.include?("mount=") && l.include?('" 201 ') }, mounts.join)
  end

  # A block that raises stops the pull in the middle of the large blob; the
  # very exception comes out; the block is not called again; nothing is
  # named; a later pull resumes.
  def test_an_exception_in_the_block_comes_back_as_it_was
    c = client("anon")
    big = fact("BIG_LAYER_SIZE").to_i
    Dir.mktmpdir do |dir|
      failure = Class.new(StandardError).new("stop here")
      layer = nil # the large blob's digest, once the block raised
      calls_after = 0
      err = assert_raises(failure.class) do
        c.pull("fixtures/big", "v1", dir) do |digest, done, total|
          calls_after += 1 if layer
          next unless total == big && done >= big / 4

          layer = digest
          raise failure
        end
      end
      assert_same failure, err
      assert_equal 0, calls_after, "no report after the block raised"
      refute names(dir).key?("v1"), "a stopped pull names nothing"
      # The large blob's partial file is kept (other blobs under way may
      # have left theirs too).
      partial = File.join(dir, "blobs", "sha256", ".#{layer.delete_prefix('sha256:')}.partial")
      assert_operator File.size(partial), :>=, big / 4
      # The library's worker may have written the whole blob before it saw
      # the cancel; resuming a complete partial file asks for an empty Range
      # (HTTP 416, a bug of the core). Keep a quarter, so that the resume
      # below is the same on every run.
      File.truncate(partial, big / 4)

      resumed_at = nil
      digest = c.pull("fixtures/big", "v1", dir) { |_d, done, total| resumed_at ||= done if total == big && done.positive? }
      assert_equal fact("BIG_DIGEST"), digest
      assert_equal big / 4, resumed_at, "the kept prefix counts as done"
      assert_equal digest, names(dir).fetch("v1")["digest"]
    end
  end

  # break, throw and return leave the call as they leave any block, after
  # the transfer stopped; a push stopped so tags nothing.
  def test_break_throw_and_return_stop_the_transfer
    c = client("anon")
    Dir.mktmpdir do |dir|
      assert_equal :broke, c.pull("fixtures/layers", "v1", dir) { break :broke }
      assert_equal :thrown, catch(:out) { c.pull("fixtures/layers", "v1", dir) { throw :out, :thrown } }
      assert_equal :returned, pull_and_return(c, dir)
      assert_empty names(dir)

      c.pull("fixtures/layers", "v1", dir)
      t = client("token")
      assert_equal :stopped, t.push(dir, "ruby-images/stopped", "v1") { break :stopped }
      assert_raises(Registry::NotFound) { t.tags("ruby-images/stopped") }
      assert_equal fact("LAYERS_DIGEST"), c.pull("fixtures/layers", "v1", dir) { next :ignored }

      # close from inside the block could never finish: ThreadError, and
      # the client stays open.
      assert_raises(ThreadError) { c.pull("fixtures/layers", "v1", dir) { c.close } }
      assert_equal fact("LAYERS_DIGEST"), c.manifest_head("fixtures/layers", "v1")[:digest]
    end
  end

  def pull_and_return(client, dir)
    client.pull("fixtures/layers", "v1", dir) { return :returned }
    :not_returned
  end

  # A block that raises while another blob stalls (ffi-tests/fixtures/stall.py:
  # a registry whose one layer never answers) stops the pull at once: the
  # exception comes out long before the client's timeout.
  def test_an_exception_stops_a_pull_whose_other_blob_stalls
    stall = IO.popen(["python3", File.expand_path("../../../ffi-tests/fixtures/stall.py", __dir__)])
    addr = stall.gets.split.first
    c = Registry::Client.new("http://#{addr}", timeout_ms: 20_000)
    (@clients ||= []) << c
    raised_at = nil
    boom = Class.new(StandardError)
    assert_raises(boom) do
      Dir.mktmpdir do |dir|
        c.pull("r", "v1", dir) do |_digest, done, total|
          if done == total && total > 1000
            raised_at = Process.clock_gettime(Process::CLOCK_MONOTONIC)
            raise boom
          end
        end
      end
    end
    took = Process.clock_gettime(Process::CLOCK_MONOTONIC) - raised_at
    assert_operator took, :<, 5, "the pull returned #{took} s after the block raised (timeout 20 s)"
  ensure
    Process.kill("KILL", stall.pid) if stall
    stall&.close
  end

  def test_manifest_head_and_config
    t = client("token")
    head = t.manifest_head("fixtures/layers", "v1")
    assert_equal fact("LAYERS_DIGEST"), head[:digest]
    assert_equal "application/vnd.oci.image.manifest.v1+json", head[:media_type]
    assert_equal t.manifest("fixtures/layers", "v1").body.bytesize, head[:size]

    raw = t.config_json("fixtures/multi", "latest", platform: "linux/arm64")
    assert_equal fact("ARM64_IMAGE_ID"), sha256(raw)
    assert_equal "arm64", t.config("fixtures/multi", "latest", platform: "linux/arm64")["architecture"]
    assert_equal fact("IMAGE_ID"), sha256(t.config_json("fixtures/multi", "latest")), "linux/amd64 by default"
    assert_equal "amd64", t.config("fixtures/app", "v1")["architecture"]
    assert_raises(Registry::NotFound) { t.manifest_head("fixtures/layers", "nope") }

    arm64 = t.manifest("fixtures/multi", "latest", platform: "linux/arm64")
    assert_equal fact("ARM64_IMAGE_ID"), JSON.parse(arm64.body)["config"]["digest"]
    assert_equal sha256(arm64.body), arm64.digest
    refute_equal fact("INDEX_DIGEST"), arm64.digest
    assert_equal fact("LAYERS_DIGEST"), t.manifest("fixtures/layers", "v1", platform: "linux/amd64").digest,
                 "not an index: the manifest itself"
    assert_raises(Registry::NotFound) { t.manifest("fixtures/multi", "latest", platform: "linux/s390x") }
    assert_raises(Registry::InvalidArgument) { t.manifest("fixtures/multi", "latest", platform: "linux") }
  end

  def test_bad_arguments
    a = client("anon")
    Dir.mktmpdir do |dir|
      assert_raises(Registry::InvalidArgument) { a.pull("fixtures/multi", "latest", dir, platform: "linux") }
      assert_empty names(dir)
      assert_raises(Registry::NotFound) { a.pull("fixtures/multi", "latest", dir, platform: "linux/s390x") }
    end
    assert_raises(Registry::InvalidArgument) { a.copy("fixtures/multi", "latest", repo: "x/y", platform: "a/b/c/d") }
    assert_raises(Registry::InvalidArgument) { a.config("fixtures/multi", "latest", platform: "") }
    assert_raises(TypeError) { a.copy("fixtures/multi", "latest", to: "elsewhere", repo: "x/y") }
    assert_raises(Registry::InvalidArgument) { Registry::Client.new("localhost:1", parallel: 0) }
    assert_raises(Registry::InvalidArgument) { Registry::Client.new("localhost:1", parallel: 65) }
  end

  # close on the destination of a copy waits until the copy returned.
  def test_close_waits_for_a_copy_on_either_client
    a = client("anon")
    t = client("token", parallel: 1)
    started = Queue.new
    count = 0
    copy = Thread.new do
      a.copy("fixtures/layers", "v1", to: t, repo: "ruby-images/closing") do
        count += 1
        started << true if count == 1
        sleep 0.05 if count == 1
      end
    end
    started.pop
    t.close
    seen_at_close = count
    assert_equal fact("LAYERS_DIGEST"), copy.value
    assert_equal count, seen_at_close, "no report after close returned"
    assert_raises(IOError) { a.copy("fixtures/layers", "v1", to: t, repo: "ruby-images/closing") }
  end
end
