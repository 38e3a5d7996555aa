# frozen_string_literal: true

# Client#close while other threads are inside calls on the same client: close
# waits for them, and calls after it raise IOError.

require "minitest/autorun"
require "digest"
require "socket"
require "registry"

class RegistryCloseTest < Minitest::Test
  APP = "fixtures/app"

  # A v2 registry on loopback that answers every request after delay seconds:
  # 200 {} for /v2/, and slow/app's tags in two pages (v1, then v2), so that
  # a tags call goes back to the client for its second request.
  class SlowRegistry
    attr_reader :addr

    def initialize(delay)
      @server = TCPServer.new("127.0.0.1", 0)
      @addr = "http://127.0.0.1:#{@server.addr[1]}"
      @thread = Thread.new { loop { serve(@server.accept, delay) } }
    end

    def stop
      @thread.kill
      @server.close
    end

    private

    def serve(sock, delay)
      Thread.new do
        request = sock.gets.to_s
        nil until ["\r\n", nil].include?(sock.gets)
        sleep delay
        body, link = answer(request)
        sock.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" \
                   "Docker-Distribution-API-Version: registry/2.0\r\n#{link}" \
                   "Content-Length: #{body.bytesize}\r\nConnection: close\r\n\r\n#{body}")
      rescue IOError, SystemCallError
        nil
      ensure
        sock.close
      end
    end

    def answer(request)
      return ["{}", ""] unless request.include?("/tags/list")
      return ['{"name":"slow/app","tags":["v2"]}', ""] if request.include?("last=v1")

      ['{"name":"slow/app","tags":["v1"]}', "Link: </v2/slow/app/tags/list?last=v1&n=1>; rel=\"next\"\r\n"]
    end
  end

  # Runs the block in a thread that records when it finished.
  def in_thread
    Thread.new do
      result = yield
      [result, Process.clock_gettime(Process::CLOCK_MONOTONIC)]
    end
  end

  def test_close_waits_for_a_call_inside_the_library
    slow = SlowRegistry.new(0.3)
    c = Registry::Client.new(slow.addr, api: :v2, max_retries: 0)
    call = in_thread { c.tags("slow/app") }
    sleep 0.2 # the call is waiting for the registry now
    c.close
    closed_at = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    tags, finished_at = call.value
    assert_equal %w[v1 v2], tags
    assert_operator closed_at, :>=, finished_at, "close returned while tags was still running"
    err = assert_raises(IOError) { c.tags("slow/app") }
    assert_match(/closed/, err.message)
  ensure
    slow&.stop
  end

  def test_close_waits_for_a_layer_download_with_a_slow_block
    c = Registry::Client.new(ENV.fetch("REGISTRY_TEST_ANON_ADDR"))
    layer = ENV.fetch("REGISTRY_TEST_LAYER_DIGEST")
    started = Queue.new
    call = in_thread do
      sha = Digest::SHA256.new
      c.layer(APP, layer) do |chunk|
        started << true if sha.to_s == Digest::SHA256.new.to_s
        sleep 0.05
        sha << chunk
      end
      "sha256:#{sha.hexdigest}"
    end
    started.pop
    c.close
    closed_at = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    digest, finished_at = call.value
    assert_equal layer, digest
    assert_operator closed_at, :>=, finished_at, "close returned while the layer was still streaming"
    assert_raises(IOError) { c.layer_exists?(APP, layer) }
    c.close # closing twice is fine
  end

  def test_close_inside_a_call_on_the_same_thread_raises
    c = Registry::Client.new(ENV.fetch("REGISTRY_TEST_ANON_ADDR"))
    layer = ENV.fetch("REGISTRY_TEST_LAYER_DIGEST")
    assert_raises(ThreadError) { c.layer(APP, layer) { |_chunk| c.close } }
    assert c.layer_exists?(APP, layer) # still open
    c.close
  end
end
