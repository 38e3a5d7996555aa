# frozen_string_literal: true

# OCI 1.1 artifacts and referrers through the Ruby wrapper, on distribution
# (the fallback tag) and ferro-oci-server (the referrers API).

require "minitest/autorun"
require "tmpdir"
require "registry"

class RegistryArtifactTest < Minitest::Test
  SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
  SBOM = "application/spdx+json"

  %w[anon ferro].each do |mode|
    define_method("test_artifacts_and_referrers_on_#{mode}") do
      c = Registry::Client.new(ENV.fetch("REGISTRY_TEST_#{mode.upcase}_ADDR"))
      repo = "rb-referrers/app-#{Process.pid}"
      subject = c.copy("fixtures/app", "v1", repo: repo, tag: "v1")
      Dir.mktmpdir do |dir|
        path = File.join(dir, "sbom.spdx.json")
        File.write(path, '{"spdxVersion":"SPDX-2.3"}')
        sig = c.artifact_push(repo, artifact_type: SIG, files: [path], subject: subject)
        sbom = c.artifact_push(repo, artifact_type: SBOM, files: [[path, SBOM]], subject: subject, tag: "sbom")
        all = c.referrers(repo, subject)
        assert_equal [sig, sbom].sort, all.map { |d| d["digest"] }.sort
        assert_equal SIG, all.find { |d| d["digest"] == sig }["artifactType"]
        assert_equal [sbom], c.referrers(repo, subject, artifact_type: SBOM).map { |d| d["digest"] }
        layer = JSON.parse(c.manifest(repo, sbom).body)["layers"][0]
        assert_equal "sbom.spdx.json", layer["annotations"]["org.opencontainers.image.title"]
        assert_equal SBOM, layer["mediaType"]
      end
      assert_raises(Registry::InvalidArgument) { c.artifact_push(repo, artifact_type: "bad") }
      assert_raises(Registry::InvalidArgument) { c.referrers(repo, "sha256:nope") }
    ensure
      c&.close
    end
  end
end

class RegistryTransferOptionsTest < Minitest::Test
  def test_platform_subsets_and_referrers_travel
    anon = Registry::Client.new(ENV.fetch("REGISTRY_TEST_ANON_ADDR"))
    ferro = Registry::Client.new(ENV.fetch("REGISTRY_TEST_FERRO_ADDR"))
    Dir.mktmpdir do |dir|
      d = anon.pull("fixtures/multi", "latest", dir, platform: %w[linux/amd64 linux/arm64])
      refute_equal ENV.fetch("REGISTRY_TEST_INDEX_DIGEST"), d
      index = JSON.parse(File.read(File.join(dir, "blobs", "sha256", d.delete_prefix("sha256:"))))
      assert_equal 2, index["manifests"].size
    end
    repo = "rb-transfer/app-#{Process.pid}"
    subject = anon.copy("fixtures/oci", "v1", repo: repo, tag: "v1")
    sig = Dir.mktmpdir do |dir|
      path = File.join(dir, "sig")
      File.write(path, "sig")
      anon.artifact_push(repo, artifact_type: "application/x.sig", files: [path], subject: subject)
    end
    dst = "rb-transfer/copied-#{Process.pid}"
    assert_equal subject, anon.copy(repo, "v1", repo: dst, to: ferro, referrers: true)
    assert_equal [sig], ferro.referrers(dst, subject).map { |r| r["digest"] }
    assert_raises(Registry::InvalidArgument) { anon.pull(repo, "v1", "/tmp/x", platform: %w[linux]) }
  ensure
    anon&.close
    ferro&.close
  end
end
