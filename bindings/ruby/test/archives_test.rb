# frozen_string_literal: true

# Image archives (docker-archive, oci-archive) against the real-registry
# fixtures, read back by skopeo's docker-archive: and oci-archive:.

require "minitest/autorun"
require "digest"
require "json"
require "open3"
require "tmpdir"
require "registry"

class RegistryArchivesTest < Minitest::Test
  def var(mode, suffix)
    ENV["REGISTRY_TEST_#{mode.upcase}_#{suffix}"]
  end

  def fact(name)
    ENV.fetch("REGISTRY_TEST_#{name}")
  end

  def client(mode)
    opts = { ca_file: var(mode, "CA") }
    opts.merge!(username: var(mode, "USER"), password: var(mode, "PASS")) if var(mode, "USER")
    c = Registry::Client.new(var(mode, "ADDR"), **opts)
    (@clients ||= []) << c
    c
  end

  def teardown
    @clients&.each(&:close)
  end

  def tar_entry(path, name)
    out, status = Open3.capture2("tar", "-xOf", path.to_s, name)
    assert status.success?, "#{name} in #{path}"
    out
  end

  def skopeo(*args)
    out, err, status = Open3.capture3("skopeo", "--insecure-policy", *args)
    assert status.success?, "skopeo #{args.join(' ')}: #{err}"
    out
  end

  def test_a_docker_archive_that_skopeo_reads
    Dir.mktmpdir do |dir|
      path = File.join(dir, "app.tar")
      reports = []
      digest = client("token").pull_archive("fixtures/app", "v1", path) { |*r| reports << r }
      assert_match(/\Asha256:\h{64}\z/, digest)
      manifest = JSON.parse(tar_entry(path, "manifest.json"))
      id = fact("IMAGE_ID")
      assert_equal "#{id.delete_prefix('sha256:')}.json", manifest[0]["Config"]
      assert_equal ["#{var('token', 'ADDR')}/fixtures/app:v1"], manifest[0]["RepoTags"]
      assert_includes reports.map(&:first), id
      skopeo("copy", "--quiet", "docker-archive:#{path}", "dir:#{dir}/read")
      assert_equal id, JSON.parse(File.read("#{dir}/read/manifest.json"))["config"]["digest"]
      # One platform of an index.
      arm = File.join(dir, "arm.tar")
      client("anon").pull_archive("fixtures/multi", "latest", arm, platform: "linux/arm64")
      config = JSON.parse(tar_entry(arm, "manifest.json"))[0]["Config"]
      assert_equal "#{fact('ARM64_IMAGE_ID').delete_prefix('sha256:')}.json", config
    end
  end

  def test_an_oci_archive_keeps_digests
    Dir.mktmpdir do |dir|
      path = File.join(dir, "multi.tar")
      digest = client("anon").pull_archive("fixtures/multi", "latest", path, format: "oci-archive")
      assert_equal fact("INDEX_DIGEST"), digest
      skopeo("copy", "--quiet", "--all", "--preserve-digests", "oci-archive:#{path}", "oci:#{dir}/read:x")
      raw = skopeo("inspect", "--raw", "oci:#{dir}/read:x")
      assert_equal digest, "sha256:#{Digest::SHA256.hexdigest(raw)}"
      two = client("anon").pull_archive("fixtures/multi", "latest", path, format: "oci-archive",
                                                                          platform: %w[linux/amd64 linux/arm64])
      refute_equal digest, two
    end
  end

  def test_save_puts_several_images_in_one_docker_archive
    Dir.mktmpdir do |dir|
      path = File.join(dir, "both.tar")
      digests = client("anon").save(["fixtures/app:v1", %w[fixtures/multi latest]], path)
      assert_equal 2, digests.size
      tags = JSON.parse(tar_entry(path, "manifest.json")).map { |e| e["RepoTags"] }
      addr = var("anon", "ADDR")
      assert_equal [["#{addr}/fixtures/app:v1"], ["#{addr}/fixtures/multi:latest"]], tags
      skopeo("copy", "--quiet", "docker-archive:#{path}:#{addr}/fixtures/multi:latest", "dir:#{dir}/read")
    end
  end

  def test_failures_leave_no_file_and_raise_their_class
    Dir.mktmpdir do |dir|
      path = File.join(dir, "none.tar")
      c = client("anon")
      assert_raises(Registry::NotFound) { c.pull_archive("fixtures/app", "nope", path) }
      assert_raises(Registry::InvalidArgument) { c.pull_archive("fixtures/app", "v1", path, format: "tarball") }
      assert_raises(Registry::InvalidArgument) do
        c.pull_archive("fixtures/multi", "latest", path, platform: %w[linux/amd64 linux/arm64])
      end
      stop = Class.new(StandardError)
      assert_raises(stop) do
        c.pull_archive("fixtures/big", "v1", path, format: "oci-archive") { |_, done, _| raise stop if done.positive? }
      end
      assert_empty Dir.children(dir)
    end
  end

  def test_push_archive_of_either_format
    Dir.mktmpdir do |dir|
      c = client("anon")
      oci = File.join(dir, "multi.tar")
      index = c.pull_archive("fixtures/multi", "latest", oci, format: "oci-archive")
      reports = []
      assert_equal index, c.push_archive(oci, "ruby/from-archive", "multi") { |*r| reports << r }
      refute_empty reports
      docker = File.join(dir, "skopeo.tar")
      skopeo("copy", "--quiet", "--src-tls-verify=false", "docker://#{var('anon', 'ADDR')}/fixtures/app:v1",
             "docker-archive:#{docker}:r/app:v1")
      c.push_archive(docker, "ruby/from-archive", "app", ref: "r/app:v1")
      raw = JSON.parse(skopeo("inspect", "--raw", "--tls-verify=false",
                              "docker://#{var('anon', 'ADDR')}/ruby/from-archive:app"))
      assert_equal fact("IMAGE_ID"), raw["config"]["digest"]
      assert_equal "application/vnd.oci.image.layer.v1.tar", raw["layers"][0]["mediaType"]
      assert_raises(Registry::NotFound) { c.push_archive(docker, "ruby/from-archive", "x", ref: "r/app:v9") }
      # compress: "gzip": the plain-tar layers go gzip-compressed, the config kept.
      c.push_archive(docker, "ruby/from-archive", "gz", compress: "gzip")
      gz = JSON.parse(skopeo("inspect", "--raw", "--tls-verify=false",
                             "docker://#{var('anon', 'ADDR')}/ruby/from-archive:gz"))
      assert_equal fact("IMAGE_ID"), gz["config"]["digest"]
      assert_equal "application/vnd.oci.image.layer.v1.tar+gzip", gz["layers"][0]["mediaType"]
      refute_equal raw["layers"][0]["digest"], gz["layers"][0]["digest"]
      assert_raises(Registry::InvalidArgument) { c.push_archive(oci, "ruby/x", "x", compress: "gzip") }
      assert_raises(Registry::InvalidArgument) { c.push_archive(docker, "ruby/x", "x", compress: "zstd") }
      File.write(File.join(dir, "junk.tar"), "no tar" * 200)
      assert_raises(Registry::InvalidArgument) { c.push_archive(File.join(dir, "junk.tar"), "ruby/x", "x") }
    end
  end
end
