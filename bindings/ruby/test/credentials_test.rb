# frozen_string_literal: true

# Environment credentials (imgpkg's variables), the config.json key
# (binderhub's auth_config_url) and clients restricted to one repository,
# against the htpasswd registry of the fixtures.

require "minitest/autorun"
require "json"
require "tmpdir"
require "registry"

class CredentialsTest < Minitest::Test
  APP = "fixtures/app"

  def var(suffix)
    ENV.fetch("REGISTRY_TEST_BASIC_#{suffix}")
  end

  def addr
    var("ADDR")
  end

  def client(**opts)
    Registry::Client.new(addr, ca_file: var("CA"), docker_config: false, **opts)
  end

  # Sets ENV for the block, then restores it.
  def with_env(vars)
    old = vars.keys.to_h { |k| [k, ENV.fetch(k, nil)] }
    vars.each { |k, v| ENV[k] = v }
    yield
  ensure
    old.each { |k, v| ENV[k] = v }
  end

  def test_env_credentials_with_a_prefix_and_a_glob
    port = addr.split(":").last
    vars = { "RBTEST_REGISTRY_HOSTNAME_1" => "127.0.0.*:#{port}", "RBTEST_REGISTRY_USERNAME_1" => var("USER"),
             "RBTEST_REGISTRY_PASSWORD_1" => var("PASS") }
    with_env(vars) do
      assert_equal %w[v1 v2], client(env_credentials: "RBTEST_REGISTRY").tags(APP)
      # Not asked for: not read.
      assert_raises(Registry::Unauthorized) { client.tags(APP) }
      assert_raises(Registry::Unauthorized) { client(env_credentials: false).tags(APP) }
    end
    # A glob for another port sends nothing.
    with_env(vars.merge("RBTEST_REGISTRY_HOSTNAME_1" => "127.0.0.*:#{port.to_i + 1}")) do
      err = assert_raises(Registry::Unauthorized) { client(env_credentials: "RBTEST_REGISTRY").tags(APP) }
      refute_includes err.message, var("PASS")
    end
    # true: the prefix REGISTRY.
    with_env("REGISTRY_HOSTNAME" => addr, "REGISTRY_USERNAME" => var("USER"), "REGISTRY_PASSWORD" => var("PASS")) do
      assert_equal %w[v1 v2], client(env_credentials: true).tags(APP)
    end
    assert_raises(Registry::InvalidArgument) { client(env_credentials: "BAD-PREFIX") }
    with_env("RBTEST_REGISTRY_HOSTNAME" => "user@host", "RBTEST_REGISTRY_PASSWORD" => "s3cret-x") do
      err = assert_raises(Registry::InvalidArgument) { client(env_credentials: "RBTEST_REGISTRY") }
      assert_includes err.message, "RBTEST_REGISTRY_HOSTNAME"
      refute_includes err.message, "s3cret-x"
    end
  end

  def test_explicit_credentials_beat_the_environment
    with_env("RBTEST2_HOSTNAME" => addr, "RBTEST2_USERNAME" => var("USER"), "RBTEST2_PASSWORD" => "wrong-pw") do
      assert_raises(Registry::Unauthorized) { client(env_credentials: "RBTEST2").tags(APP) }
      c = client(env_credentials: "RBTEST2", username: var("USER"), password: var("PASS"))
      assert_equal %w[v1 v2], c.tags(APP)
    end
  end

  def test_auth_key
    Dir.mktmpdir do |dir|
      path = File.join(dir, "config.json")
      File.write(path, JSON.generate("auths" => {
                                       "https://build.example/v1/" => { "username" => var("USER"), "password" => var("PASS") },
                                       addr => { "username" => "nobody", "password" => "wrong" }
                                     }))
      base = { ca_file: var("CA"), docker_config: path }
      assert_raises(Registry::Unauthorized) { Registry::Client.new(addr, **base).tags(APP) }
      c = Registry::Client.new(addr, **base, auth_key: "https://build.example/v1/")
      assert_equal %w[v1 v2], c.tags(APP)
      assert_raises(Registry::InvalidArgument) { Registry::Client.new(addr, **base, auth_key: "") }
    end
  end

  def test_restrict
    c = client(username: var("USER"), password: var("PASS"))
    app = c.restrict(APP)
    assert_instance_of Registry::Client, app
    assert_equal %w[v1 v2], app.tags(APP)
    assert_raises(Registry::InvalidArgument) { app.tags("fixtures/oci") }
    assert_raises(Registry::InvalidArgument) { app.search("fixtures") }
    assert_raises(Registry::InvalidArgument) { app.restrict("fixtures/oci") }
    assert_raises(Registry::InvalidArgument) { c.restrict("Bad Name") }
    # The parent closes first; the restricted client goes on.
    c.close
    assert_equal %w[v1 v2], app.tags(APP)
    app.close
    assert_raises(IOError) { app.tags(APP) }
  end
end
