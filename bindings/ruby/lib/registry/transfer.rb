# frozen_string_literal: true

# What the calls that carry images share: registry_transfer_options
# (platform subsets, referrers) and C arrays of strings.
module Registry
  module Native
    attach_function :registry_transfer_options_new, %i[pointer err_out], :status
    attach_function :registry_transfer_options_platform, %i[pointer string err_out], :status
    attach_function :registry_transfer_options_referrers, %i[pointer bool err_out], :status
    attach_function :registry_transfer_options_compress, %i[pointer string err_out], :status
    attach_function :registry_transfer_options_free, %i[pointer], :void
  end

  # Yields a registry_transfer_options for platform (nil, a String or an
  # Array) and referrers, or nil (NULL) when neither asks anything; frees it
  # after the block.
  def self.with_transfer_options(platform, referrers, compress: nil)
    platforms = Array(platform)
    return yield nil if platforms.empty? && !referrers && compress.nil?

    out = FFI::MemoryPointer.new(:pointer)
    call { |e| Native.registry_transfer_options_new(out, e) }
    opts = out.read_pointer
    begin
      platforms.each { |p| call { |e| Native.registry_transfer_options_platform(opts, p.to_s, e) } }
      call { |e| Native.registry_transfer_options_referrers(opts, referrers ? true : false, e) }
      call { |e| Native.registry_transfer_options_compress(opts, compress.to_s, e) } unless compress.nil?
      yield opts
    ensure
      Native.registry_transfer_options_free(opts)
    end
  end

  # A C array of strings (nil elements are NULL), the strings kept alive by
  # the array's reference.
  def self.c_strings(strings)
    ptrs = strings.map { |s| s.nil? ? FFI::Pointer::NULL : FFI::MemoryPointer.from_string(s.to_s) }
    array = FFI::MemoryPointer.new(:pointer, [ptrs.size, 1].max)
    array.put_array_of_pointer(0, ptrs) unless ptrs.empty?
    array.instance_variable_set(:@strings, ptrs)
    array
  end
end
