# frozen_string_literal: true

# Client#sync against the real-registry fixtures: distribution (anon) to
# ferro, a missing tag reported and the others copied, the second run
# skipping everything with HEADs only (by the source's access log).

require "minitest/autorun"
require "registry"

class RegistrySyncTest < Minitest::Test
  def var(mode, suffix)
    ENV["REGISTRY_TEST_#{mode.upcase}_#{suffix}"]
  end

  def client(mode, **opts)
    c = Registry::Client.new(var(mode, "ADDR"), **opts)
    (@clients ||= []) << c
    c
  end

  def teardown
    @clients&.each(&:close)
  end

  def requests(mode, ua)
    File.readlines(var(mode, "LOG")).select { |l| l.chomp.end_with?("\"#{ua}\"") && !l.include?("\" 401 ") }
        .map { |l| l.split('"')[1].sub(%r{ HTTP/[\d.]+\z}, "") }
  end

  def test_sync_copies_then_skips_and_reports_a_failed_tag
    ua = "ruby-sync-#{Process.pid}"
    src = client("anon", user_agent: ua)
    dst = client("ferro")
    repo = "ruby-sync/src-#{Process.pid}-#{rand(1 << 30)}"
    dst_repo = "ruby-sync/dst-#{Process.pid}-#{rand(1 << 30)}"
    v1 = src.copy("fixtures/app", "v1", repo: repo, tag: "v1")
    multi = src.copy("fixtures/multi", "latest", repo: repo, tag: "multi")

    reports = 0
    report = src.sync(repo, dst, dst_repo, tags: %w[v1 gone multi]) { reports += 1 }
    assert_equal [{ "tag" => "v1", "digest" => v1 }, { "tag" => "multi", "digest" => multi }], report["copied"]
    assert_equal [], report["skipped"]
    assert_equal 1, report["failed"].size
    assert_equal "gone", report["failed"][0]["tag"]
    assert_equal "NOT_FOUND", report["failed"][0]["status"]
    refute_empty report["failed"][0]["message"]
    assert_operator reports, :>, 0
    assert_equal v1, dst.manifest_head(dst_repo, "v1")[:digest]

    before = requests("anon", ua).size
    again = src.sync(repo, dst, dst_repo)
    assert_equal [], again["copied"]
    assert_equal %w[multi v1], again["skipped"].map { |t| t["tag"] }.sort
    sent = requests("anon", ua)[before..]
    assert(sent.none? { |r| r.start_with?("GET ") && r.include?("/manifests/") }, sent.inspect)
    assert(sent.none? { |r| r.include?("/blobs/") }, sent.inspect)

    # One platform: its manifest, not the index.
    one = src.sync(repo, dst, "#{dst_repo}-amd64", tags: ["multi"], platforms: ["linux/amd64"], referrers: true)
    refute_equal multi, one["copied"][0]["digest"]
    assert_raises(Registry::InvalidArgument) { src.sync(repo, dst, dst_repo, tags: ["no:good"]) }
    assert_raises(Registry::InvalidArgument) { src.sync(repo, dst, dst_repo, platforms: ["nonsense"]) }
    assert_raises(TypeError) { src.sync(repo, "dst", dst_repo) }
  end
end
