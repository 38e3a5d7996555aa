# frozen_string_literal: true

# Rate limits through the Ruby wrapper: the rate_limit: keyword, and Docker
# Hub's RateLimit headers read by a HEAD, from the fixtures' Hub-like server
# (distribution sends none).

require "minitest/autorun"
require "registry"

class RegistryRateLimitTest < Minitest::Test
  def anon
    ENV.fetch("REGISTRY_TEST_ANON_ADDR")
  end

  def test_a_client_with_or_without_a_rate_limit_works
    [0, 50].each do |limit|
      c = Registry::Client.new(anon, rate_limit: limit)
      3.times { assert_includes c.tags("fixtures/app"), "v1" }
    ensure
      c&.close
    end
  end

  def test_a_rate_limit_holds_requests_to_their_pace
    c = Registry::Client.new(anon, rate_limit: 5)
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    # The first request goes at once, the next ones one every 200 ms
    # (a lower bound on a deliberate wait, not a speed test).
    4.times { c.tags("fixtures/app") }
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - started, :>=, 0.55
  ensure
    c&.close
  end

  def test_distribution_sends_no_rate_limit_headers
    c = Registry::Client.new(anon)
    assert_nil c.rate_limit_status
    assert_nil c.rate_limit_check("fixtures/app", "v1")
    assert_raises(Registry::NotFound) { c.rate_limit_check("fixtures/app", "nope") }
    assert_raises(Registry::InvalidArgument) { c.rate_limit_check("Bad Repo", "v1") }
  ensure
    c&.close
  end

  def test_hub_headers_are_read_by_a_head
    c = Registry::Client.new("http://#{ENV.fetch('REGISTRY_TEST_HUB_ADDR')}")
    want = { limit: 100, remaining: 76, window_seconds: 21_600, source: "127.0.0.1" }
    assert_equal want, c.rate_limit_check("library/alpine", "latest")
    assert_equal want, c.rate_limit_status, "the last status seen"
  ensure
    c&.close
  end
end
