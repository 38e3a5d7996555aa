# frozen_string_literal: true

# The write flows through the Ruby wrapper, in repositories of its own.

require "minitest/autorun"
require "digest"
require "stringio"
require "tmpdir"
require "registry"

class RegistryWriteTest < Minitest::Test
  def var(mode, suffix)
    ENV["REGISTRY_TEST_#{mode.upcase}_#{suffix}"]
  end

  def client(mode, user: var(mode, "USER"), pass: var(mode, "PASS"))
    opts = { ca_file: var(mode, "CA") }
    opts.merge!(username: user, password: pass) if user
    Registry::Client.new(var(mode, "ADDR"), **opts)
  end

  %w[anon basic token tls].each do |mode|
    define_method("test_write_flows_#{mode}") do
      c = client(mode)
      repo = "ruby/uploads-#{Process.pid}"
      data = Random.new(42).bytes(300_000)
      digest = c.put_layer(repo, StringIO.new(data))
      assert_equal "sha256:#{Digest::SHA256.hexdigest(data)}", digest
      assert_equal data, c.layer(repo, digest)
      assert_equal digest, c.put_layer(repo, StringIO.new(data), digest: digest)

      Dir.mktmpdir do |dir|
        path = File.join(dir, "blob")
        File.binwrite(path, data[0, 999])
        assert_equal "sha256:#{Digest::SHA256.hexdigest(data[0, 999])}", c.put_layer(repo, path)
      end

      wrong = "sha256:#{'1' * 64}"
      assert_raises(Registry::DigestMismatch) { c.put_layer(repo, StringIO.new("other"), digest: wrong) }
      refute c.layer_exists?(repo, wrong)

      failing = Object.new
      def failing.read(_cap) = raise(IOError, "disk on fire")
      err = assert_raises(IOError) { c.put_layer(repo, failing) }
      assert_equal "disk on fire", err.message

      tags_repo = "ruby/tags-#{Process.pid}"
      assert c.mount_blob(tags_repo, ENV.fetch("REGISTRY_TEST_LAYER_DIGEST"), "fixtures/app")
      assert c.mount_blob(tags_repo, ENV.fetch("REGISTRY_TEST_IMAGE_ID"), "fixtures/app")
      m = c.manifest("fixtures/app", "v1")
      assert_equal m.digest, c.put_manifest(tags_repo, "v1", m.media_type, m.body)
      c.set_tag(tags_repo, "v1", "v2")
      c.set_tag(tags_repo, m.digest, "v3")
      c.delete_tag(tags_repo, "v2")
      assert_equal %w[v1 v3], c.tags(tags_repo)
      assert_raises(Registry::NotFound) { c.delete_tag(tags_repo, "v2") }
      c.delete_manifest(tags_repo, m.digest)
      assert_equal [], c.tags(tags_repo)
    end
  end

  # An IO whose read(n) ignores n and returns up to 4 MiB at a time.
  class GreedyIO
    def initialize(data)
      @data = data
      @pos = 0
    end

    def read(_length)
      return nil if @pos >= @data.bytesize

      chunk = @data.byteslice(@pos, 4 * 1024 * 1024)
      @pos += chunk.bytesize
      chunk
    end
  end

  def test_put_layer_from_an_io_that_returns_more_than_asked
    c = client("anon")
    repo = "ruby/greedy-#{Process.pid}"
    data = Random.new(11).bytes((4 * 1024 * 1024) + 123_457)
    digest = c.put_layer(repo, GreedyIO.new(data))
    assert_equal "sha256:#{Digest::SHA256.hexdigest(data)}", digest
    assert_equal data, c.layer(repo, digest)

    odd = Object.new
    def odd.read(_length) = 42
    assert_raises(TypeError) { c.put_layer(repo, odd) }
  end

  def test_tokens_and_scopes
    c = client("token")
    %i[read write delete].each { |a| assert_equal 3, c.hub_token("fixtures/app", a).split(".").size }
    assert_raises(Registry::InvalidArgument) { c.hub_token("fixtures/app", :admin) }
    assert_raises(Registry::Unsupported) { client("basic").hub_token("fixtures/app", :read) }
    %i[read write delete].each { |a| assert_equal 3, c.token("fixtures/app", a).split(".").size }
    assert_raises(Registry::InvalidArgument) { c.token("fixtures/app", :admin) }
    assert_raises(Registry::Unsupported) { client("basic").token("fixtures/app", :read) }
    ro = client("token", user: var("token", "RO_USER"), pass: var("token", "RO_PASS"))
    assert_raises(Registry::Forbidden) { ro.put_layer("ruby/denied", StringIO.new("x")) }
    assert_raises(Registry::Forbidden) { ro.delete_tag("fixtures/app", "v1") }
  end

  # With an upload state directory a layer goes up in recorded chunks (9 MiB:
  # two), and nothing stays recorded once it is committed; "" turns it off.
  def test_upload_state_dir_records_and_cleans_up
    Dir.mktmpdir do |dir|
      state = File.join(dir, "state")
      c = Registry::Client.new(var("anon", "ADDR"), upload_state_dir: state)
      repo = "ruby/resume-#{Process.pid}"
      data = Random.new(7).bytes((9 * 1024 * 1024) + 5)
      path = File.join(dir, "layer")
      File.binwrite(path, data)
      digest = "sha256:#{Digest::SHA256.hexdigest(data)}"
      assert_equal digest, c.put_layer(repo, path, digest: digest)
      assert c.layer_exists?(repo, digest)
      assert_equal data.bytesize, c.layer(repo, digest).bytesize
      assert File.directory?(state), "the directory is made on first use"
      assert_empty Dir.children(state)

      off = Registry::Client.new(var("anon", "ADDR"), upload_state_dir: "")
      other = data.reverse
      assert_equal "sha256:#{Digest::SHA256.hexdigest(other)}",
                   off.put_layer(repo, StringIO.new(other), digest: "sha256:#{Digest::SHA256.hexdigest(other)}")
    end
  end
end
