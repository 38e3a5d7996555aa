# frozen_string_literal: true

# Many tags at once: Client#sync (registry_sync), and the transfer options
# (platform subsets, referrers) it takes.
module Registry
  module Native
    attach_function :registry_sync,
                    %i[pointer string pointer string pointer size_t pointer registry_progress_fn pointer pointer
                       err_out],
                    :status, blocking: true
  end

  class Client
    # Syncs tags of src_repo on this client's registry to dst_repo on dst
    # (another Client, or this one): tags (an Array of Strings; nil: every
    # tag of src_repo), each under the same name. A tag whose digest is
    # already the same at dst is skipped after a HEAD at each end (no GET);
    # the others' blobs move as one transfer (a blob several tags share moves
    # once), then each tag's manifests. platforms: an Array of
    # "os/arch[/variant]" (one: that platform's manifest; several: a new index
    # of just them); referrers: true carries each tag's referrers too. A tag
    # that fails does not stop the others. Returns the report, a Hash:
    # {"copied" => [{"tag" =>, "digest" =>}], "skipped" => [...],
    # "failed" => [{"tag" =>, "status" => "NOT_FOUND", "message" =>}]}.
    # Raises only when the tags cannot be listed or an argument is wrong. The
    # block hears progress as for #copy.
    def sync(src_repo, dst, dst_repo, tags: nil, platforms: nil, referrers: false, &progress)
      raise TypeError, "dst must be a Registry::Client, not #{dst.class}" unless dst.is_a?(Client)

      strings = tags&.map { |t| FFI::MemoryPointer.from_string(t.to_s) }
      array = nil
      if strings
        array = FFI::MemoryPointer.new(:pointer, [strings.size, 1].max)
        array.put_array_of_pointer(0, strings)
      end
      json = Registry.with_transfer_options(platforms, referrers) do |opts|
        with_handle do |src|
          dst.with_handle do |d|
            image_call(progress, :take_buf) do |cb, out, e|
              Native.registry_sync(src, src_repo, d, dst_repo, array, strings ? strings.size : 0, opts, cb, nil,
                                   out, e)
            end
          end
        end
      end
      JSON.parse(json)
    end
  end
end
