/* Instruction-cache maintenance after writing code, for aotc-loader's normal (copied and
 * relocated) text: the compiler's own `__builtin___clear_cache`, which is nothing on x86_64 and,
 * on aarch64, cleans the data cache and invalidates the instruction cache over the range
 * (respecting CTR_EL0's line sizes and its IDC/DIC bits), then synchronises the pipeline.
 */
void aotc_clear_icache(char *start, char *end) {
    __builtin___clear_cache(start, end);
}
