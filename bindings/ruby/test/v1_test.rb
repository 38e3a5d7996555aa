# frozen_string_literal: true

# The v1 flows through the Ruby wrapper, against the fixture v1 server in
# both of its modes: "v1" (an index handing out tokens for a registry on
# another port) and "v1sa" (standalone, basic auth).

require "minitest/autorun"
require "digest"
require "tmpdir"
require "registry"

class RegistryV1Test < Minitest::Test
  APP = "fixtures/v1app"

  def client(mode, **opts)
    Registry::Client.new(var(mode, "ADDR"), username: var(mode, "USER"), password: var(mode, "PASS"), **opts)
  end

  def var(mode, suffix)
    ENV.fetch("REGISTRY_TEST_#{mode.upcase}_#{suffix}")
  end

  def fact(name)
    ENV.fetch("REGISTRY_TEST_V1_#{name}")
  end

  %w[v1 v1sa].each do |mode|
    define_method("test_read_flows_#{mode}") do
      c = client(mode)
      assert_equal :v1, c.ping
      assert_equal %w[base latest], c.tags(APP)
      assert_equal fact("IMAGE_ID"), c.image_id(APP, "latest")
      assert_equal fact("PARENT_ID"), c.image_id("busybox", "latest")
      assert_equal [fact("IMAGE_ID"), fact("PARENT_ID")], c.v1_ancestry(fact("IMAGE_ID"))
      assert_equal fact("IMAGE_ID"), JSON.parse(c.v1_image_json(fact("IMAGE_ID")))["id"]
      assert_equal fact("IMAGE_ID"), JSON.parse(c.v1_image_json(fact("IMAGE_ID"), repo: APP))["id"]
      assert_equal [fact("IMAGE_ID"), fact("PARENT_ID")], c.v1_ancestry(fact("IMAGE_ID"), repo: APP)
      assert_equal(true, c.layer(APP, fact("IMAGE_ID")) { |_chunk| nil }, "the image checksum was checked")
      assert c.layer_exists?(APP, fact("IMAGE_ID"))
      refute c.layer_exists?(APP, "0" * 64)
      layer = c.layer(APP, fact("IMAGE_ID"))
      assert_equal fact("LAYER_SHA256"), Digest::SHA256.hexdigest(layer)
      Dir.mktmpdir do |dir|
        path = File.join(dir, "layer")
        c.layer_to_file(APP, fact("IMAGE_ID"), path)
        assert_equal fact("LAYER_SIZE").to_i, File.size(path)
      end
      found = c.search("v1app")
      assert_equal [APP], found["results"].map { |r| r["name"] }
      assert_equal "the v1 fixture image", found["results"][0]["description"]
      err = assert_raises(Registry::NotFound) { c.image_id(APP, "nope") }
      assert_match(/Tag not found/, err.message)
      assert_raises(Registry::Unsupported) { c.manifest(APP, "latest") }
    ensure
      c&.close
    end

    define_method("test_index_tokens_#{mode}") do
      c = client(mode)
      { read: "read", write: "write", delete: "delete" }.each do |access, word|
        tok = c.hub_token(APP, access)
        assert_match(/\Asignature=/, tok)
        assert_includes tok, "access=#{word}"
        assert_includes tok, %(repository="#{APP}")
      end
      bad = client(mode, password: "wrong-password")
      err = assert_raises(Registry::Unauthorized) { bad.hub_token(APP, :write) }
      refute_includes err.message, "wrong-password"
    end

    define_method("test_push_tag_untag_#{mode}") do
      c = client(mode)
      repo = "ruby/v1-#{Process.pid}"
      id = Digest::SHA256.hexdigest("ruby-#{mode}-#{Process.pid}")
      json = JSON.generate(id: id, parent: fact("PARENT_ID"))
      layer = Random.new(7).bytes(40_000)
      c.hub_token(repo, :write)
      c.v1_image_json_put(id, json, repo: repo)
      sum = c.put_layer(repo, StringIO.new(layer), digest: id)
      assert_equal "sha256:#{Digest::SHA256.hexdigest("#{json}\n#{layer}")}", sum
      c.set_tag(repo, id, "v1")
      assert_equal ["v1"], c.tags(repo)
      assert_equal id, c.image_id(repo, "v1")
      assert_equal layer, c.layer(repo, id)
      c.delete_tag(repo, "v1")
      assert_equal [], c.tags(repo)
      assert_raises(Registry::NotFound) { c.delete_tag(repo, "v1") }
      assert_raises(Registry::NotFound) { c.set_tag(repo, "0" * 64, "v2") }

      # An IO that fails mid-way: no checksum goes out, the image stays incomplete.
      id2 = Digest::SHA256.hexdigest("ruby-abort-#{mode}-#{Process.pid}")
      c.v1_image_json_put(id2, { id: id2, parent: fact("PARENT_ID") })
      failing = Object.new
      def failing.read(_cap) = raise(IOError, "disk went away")
      assert_raises(IOError) { c.put_layer(repo, failing, digest: id2) }
      assert_raises(Registry::NotFound) { c.set_tag(repo, id2, "v2") }
      assert_raises(Registry::InvalidArgument) { c.put_layer(repo, StringIO.new("x")) }
      assert_raises(Registry::InvalidArgument) { c.v1_image_json_put("nope", "{}") }
    end

    define_method("test_repository_lists_and_delete_#{mode}") do
      c = client(mode)
      list = c.v1_repository_images(APP)
      assert_equal [fact("IMAGE_ID"), fact("PARENT_ID")].sort, list.map { |e| e["id"] }.sort
      assert_equal fact("CHECKSUM"), list.find { |e| e["id"] == fact("IMAGE_ID") }["checksum"]
      assert_raises(Registry::NotFound) { c.v1_repository_images("ruby/no-such-repo") }

      repo = "ruby/repo-#{mode}-#{Process.pid}"
      id = Digest::SHA256.hexdigest("ruby-repo-#{mode}-#{Process.pid}")
      json = JSON.generate(id: id, parent: fact("PARENT_ID"))
      c.v1_repository_put(repo, [{ id: id }])
      c.v1_image_json_put(id, json, repo: repo)
      sum = c.put_layer(repo, StringIO.new("ruby layer " * 100), digest: id)
      c.set_tag(repo, id, "v1")
      err = assert_raises(Registry::AlreadyExists) { c.v1_image_json_put(id, json, repo: repo) }
      assert_equal :already_exists, err.status
      assert_equal 409, err.http_status
      c.v1_repository_images_put(repo, [{ id: id, checksum: sum }, { id: fact("PARENT_ID") }])
      assert_equal [{ "id" => id, "checksum" => sum }], c.v1_repository_images(repo)
      assert_raises(Registry::InvalidArgument) { c.v1_repository_images_put(repo, [{ id: "abc" }]) }
      c.v1_repository_delete(repo)
      assert_raises(Registry::NotFound) { c.tags(repo) }
      assert_raises(Registry::NotFound) { c.v1_repository_delete(repo) }

      page = c.search_page("busybox", page: 1, limit: 0)
      assert_equal [1, 1, 25, 1], page.values_at("num_results", "num_pages", "page_size", "page")
      hit = page["results"][0]
      assert_equal [true, false, 15], hit.values_at("is_official", "is_trusted", "star_count")
    ensure
      c&.close
    end
  end

  def test_v1_only_calls_on_a_v2_client
    c = Registry::Client.new(ENV.fetch("REGISTRY_TEST_ANON_ADDR"))
    assert_equal :v2, c.ping
    assert_raises(Registry::Unsupported) { c.v1_ancestry(fact("IMAGE_ID")) }
    assert_raises(Registry::Unsupported) { c.v1_image_json(fact("IMAGE_ID")) }
    assert_raises(Registry::Unsupported) { c.v1_image_json_put(fact("IMAGE_ID"), "{}") }
    assert_raises(Registry::Unsupported) { c.v1_repository_images("fixtures/app") }
    assert_raises(Registry::Unsupported) { c.v1_repository_delete("fixtures/app") }
  end

  def test_api_v1_by_hand
    c = Registry::Client.new(var("v1", "ADDR"), api: :v1)
    assert_equal :v1, c.ping
    assert_equal %w[base latest], c.tags(APP) # anonymous read tokens from the index
  end
end
