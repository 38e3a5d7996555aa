# frozen_string_literal: true

# Rate limits: the client's own pace (the rate_limit: keyword of Client.new)
# and what the registry says of its limit (Docker Hub's RateLimit headers).
module Registry
  module Native
    attach_function :registry_client_builder_rate_limit, %i[pointer uint32 err_out], :status
    attach_function :registry_rate_limit_check, %i[pointer string string pointer err_out], :status, blocking: true
    attach_function :registry_rate_limit_status, %i[pointer pointer err_out], :status
  end

  class Client
    # Asks the registry for its rate limit with a HEAD of repo:reference's
    # manifest (a HEAD does not count against Docker Hub's pull limit):
    # {limit:, remaining:, window_seconds:, source:} (window_seconds and
    # source nil when not sent), or nil when the registry sends no
    # RateLimit headers. Registry::NotFound when there is no such manifest.
    def rate_limit_check(repo, reference)
      rate_limit_hash(out_call(:take_buf) { |h, out, e| Native.registry_rate_limit_check(h, repo, reference, out, e) })
    end

    # What the registry's RateLimit headers said on the last answer that
    # carried them, as #rate_limit_check gives it; nil before any did.
    # Sends nothing.
    def rate_limit_status
      rate_limit_hash(out_call(:take_buf) { |h, out, e| Native.registry_rate_limit_status(h, out, e) })
    end

    private

    def rate_limit_hash(json)
      parsed = JSON.parse(json)
      parsed&.transform_keys(&:to_sym)
    end
  end
end
