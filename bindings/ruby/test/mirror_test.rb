# frozen_string_literal: true

# Mirrors through the Ruby wrapper: a registry that is down, read through a
# real one (anon) as its mirror.

require "minitest/autorun"
require "socket"
require "tmpdir"
require "registry"

class RegistryMirrorTest < Minitest::Test
  def down_address
    server = TCPServer.new("127.0.0.1", 0)
    port = server.addr[1]
    server.close
    "127.0.0.1:#{port}"
  end

  def test_reads_come_from_the_mirror_while_writes_stay_with_the_registry
    mirror = ENV.fetch("REGISTRY_TEST_ANON_ADDR")
    c = Registry::Client.new(down_address, mirrors: ["http://#{mirror}"], docker_config: false)
    assert_includes c.tags("fixtures/app"), "v1"
    Dir.mktmpdir do |dir|
      digest = c.pull("fixtures/multi", "latest", dir)
      assert_equal ENV.fetch("REGISTRY_TEST_INDEX_DIGEST"), digest
    end
    assert_raises(Registry::Network) { c.set_tag("fixtures/app", "v1", "from-ruby") }
  ensure
    c&.close
  end

  def test_a_mirror_url_with_a_path_is_refused
    e = assert_raises(Registry::InvalidArgument) do
      Registry::Client.new("127.0.0.1:1", mirrors: ["http://127.0.0.1:5000/v2/"])
    end
    assert_match(/no path/, e.message)
  end
end
