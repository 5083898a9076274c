/* tte firmware main loop: reads a command stream, runs the generated model's training steps
 * and inferences, and writes a line-oriented report.
 *
 * Stream: records of an 8-byte header (op:u8, payload length:u24, label:i32, little-endian) and
 * a payload padded to a multiple of 4 bytes, so that inputs stay word-aligned in memory. A record
 * whose length is not the one its command takes (TTE_INPUT_BYTES for an input, 0 without a
 * payload) is rejected ("F bad-length", exit status 1) before any of it is used:
 *   'T' payload input[TTE_INPUT_BYTES]    one training step     -> "L <loss as f32 bits, hex>"
 *       (a regression model, TTE_REGRESSION: input, padding, then target[TTE_TARGET_BYTES], f32)
 *       (an inference-only model, TTE_INFERENCE_ONLY: 'T' and 'C' fail with "F inference-only-model")
 *   'E' payload input                     one inference, scored -> "P <argmax> O <output hex>"
 *   'I' payload input                     one inference         -> "O <output hex>"
 *   'C'                                   trainable-weights CRC-32 -> "C <hex>"
 *   'R'                                   the sizes again           -> "R ..." (as at start: a host
 *                                         that joins a running board, tte fleet bridge, asks)
 *   'G'                                   trainable weights     -> "W <hex>"   (TTE_FW_WEIGHTS_IO)
 *   'S' payload weights[TTE_TRAINABLE_BYTES]  set them          -> "S"       (TTE_FW_WEIGHTS_IO)
 *   'D'                                   weights checkpoint    -> "tte-ckpt ..." lines
 *       (csrc/include/tte/checkpoint.h; for a model header with TTE_CHECKPOINT_BYTES)
 *   'Q' or end of stream                  -> "A <correct> <scored>", "K <stack peak bytes>
 *                                            <stack region bytes>", "Z", exit status 0
 * Inputs and outputs are the model's element types (tte_input_t / tte_output_t: int8, or
 * float32 little-endian for float I/O around an int8 body).
 * Before the first command (and on 'R'): "R <input bytes> <output bytes> <trainable bytes> <arena bytes>".
 * Every training step and inference runs between tte_region_begin() and tte_region_end();
 * one empty region comes first so the host can subtract the markers' own instructions. */
#include "tte_fw.h"

#ifndef TTE_MODEL_HEADER
#error "TTE_MODEL_HEADER must name the generated model header"
#endif
#include TTE_MODEL_HEADER

#if defined(TTE_INFERENCE_ONLY) && defined(TTE_FW_WEIGHTS_IO)
#error "an inference-only model (scheme none) has no trained weights to get or set: build without weights I/O"
#endif

#if defined(TTE_IN_EMBEDDED)
#define INPUT_MAPPED 1
#else
/* inputs are read straight into the model's arena (tte_input_buffer()), no buffer here */
#define INPUT_MAPPED 0
#endif
#if defined(TTE_INPUT_ROWS) && !INPUT_MAPPED
/* A model compiled with input rows (TTE_INPUT_ROWS) keeps no input in its arena: it reads the
 * image's rows from the pointer it is given. This buffer is the transport's, not the model's: the
 * command stream delivers each input whole, so it lands here first (a camera would give the model
 * its rows through tte_set_input_reader instead, with no image buffer at all). */
static tte_input_t input_image[TTE_INPUT_BYTES / sizeof(tte_input_t)];
#endif
#if defined(TTE_REGRESSION) && TTE_REGRESSION
/* a training step's target and an inference's output are never needed at once: one buffer */
static union {
    tte_output_t out[TTE_OUTPUT_BYTES / sizeof(tte_output_t)];
    float target[TTE_TARGET_BYTES / sizeof(float)];
} io_buf;
#define output_buf (io_buf.out)
#define target_buf (io_buf.target)
/* a 'T' record's payload: the input, padded to 4 bytes, then the target */
#define TRAIN_PAYLOAD_BYTES (((TTE_INPUT_BYTES + 3u) & ~3u) + TTE_TARGET_BYTES)
#else
static tte_output_t output_buf[TTE_OUTPUT_BYTES / sizeof(tte_output_t)];
#define TRAIN_PAYLOAD_BYTES TTE_INPUT_BYTES
#endif
static uint32_t scored, correct;

static void put_line(char *line, char *end)
{
    *end++ = '\n';
    tte_io_write(line, (uint32_t)(end - line));
}

static void put_hex_bytes(char tag, const uint8_t *p, uint32_t n)
{
    char chunk[64];
    chunk[0] = tag;
    chunk[1] = ' ';
    tte_io_write(chunk, 2u);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        char *q = tte_fmt_hex8(&chunk[k], p[i]);
        k = (uint32_t)(q - chunk);
        if (k + 2u > sizeof chunk) {
            tte_io_write(chunk, k);
            k = 0;
        }
    }
    chunk[k++] = '\n';
    tte_io_write(chunk, k);
}

static void fail(const char *why)
{
    tte_io_puts("F ");
    tte_io_puts(why);
    tte_io_puts("\n");
    tte_io_exit(1u);
}

static void skip_padding(uint32_t n)
{
    uint8_t pad[4];
    if ((n & 3u) != 0u && !tte_io_read(pad, 4u - (n & 3u))) {
        fail("truncated-padding");
    }
}

#if defined(TTE_FW_WEIGHTS_IO)
/* Checkpoints stream through a small buffer (tte_*_weights_range): no RAM the size of the
 * trained tensors, so a model that fits the board can always be read back and restored. */
#define WEIGHTS_CHUNK 64u

static void put_weights(void)
{
    uint8_t buf[WEIGHTS_CHUNK];
    char hex[2 * WEIGHTS_CHUNK];
    uint32_t off;
    tte_io_write("W ", 2u);
    for (off = 0; off < TTE_TRAINABLE_BYTES; off += WEIGHTS_CHUNK) {
        const uint32_t n = TTE_TRAINABLE_BYTES - off < WEIGHTS_CHUNK ? TTE_TRAINABLE_BYTES - off : WEIGHTS_CHUNK;
        uint32_t i;
        char *q = hex;
        tte_get_weights_range(buf, off, n);
        for (i = 0; i < n; i++) {
            q = tte_fmt_hex8(q, buf[i]);
        }
        tte_io_write(hex, (uint32_t)(q - hex));
    }
    tte_io_write("\n", 1u);
}

static void read_weights(void)
{
    uint8_t buf[WEIGHTS_CHUNK];
    uint32_t off;
    for (off = 0; off < TTE_TRAINABLE_BYTES; off += WEIGHTS_CHUNK) {
        const uint32_t n = TTE_TRAINABLE_BYTES - off < WEIGHTS_CHUNK ? TTE_TRAINABLE_BYTES - off : WEIGHTS_CHUNK;
        if (!tte_io_read(buf, n)) {
            fail("truncated-weights");
        }
        tte_set_weights_range(buf, off, n);
    }
}
#endif

/* The input for the next step or inference: a mapped pointer (copied into the arena by the
 * step, or with TTE_INPUT_ROWS read in place), the transport's image buffer (TTE_INPUT_ROWS), or
 * NULL once it has been read into the arena at tte_input_buffer(). */
static const tte_input_t *read_input(void)
{
#if INPUT_MAPPED
    const tte_input_t *p = (const tte_input_t *)tte_io_map(TTE_INPUT_BYTES);
    if (p == NULL) {
        fail("truncated-input");
    }
#elif defined(TTE_INPUT_ROWS)
    const tte_input_t *p = input_image;
    if (!tte_io_read(input_image, TTE_INPUT_BYTES)) {
        fail("truncated-input");
    }
#else
    const tte_input_t *p = NULL;
    if (!tte_io_read(tte_input_buffer(), TTE_INPUT_BYTES)) {
        fail("truncated-input");
    }
#endif
    skip_padding(TTE_INPUT_BYTES);
    return p;
}

/* Returns 0 at the end of the stream. */
static int read_header(uint8_t *op, uint32_t *length, int32_t *label)
{
    uint8_t b[8];
    if (!tte_io_read(b, 8u)) {
        return 0;
    }
    *op = b[0];
    *length = (uint32_t)b[1] | ((uint32_t)b[2] << 8) | ((uint32_t)b[3] << 16);
    *label = (int32_t)((uint32_t)b[4] | ((uint32_t)b[5] << 8) | ((uint32_t)b[6] << 16) | ((uint32_t)b[7] << 24));
    return 1;
}

/* The payload length each command takes; a record that says otherwise is not ours to guess at. */
static void expect_length(uint32_t length, uint32_t want)
{
    if (length != want) {
        fail("bad-length");
    }
}

static uint32_t argmax(const tte_output_t *v, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++) {
        if (v[i] > v[best]) {
            best = i;
        }
    }
    return best;
}

static void report_sizes(void)
{
    char line[48];
    char *p = line;
    *p++ = 'R';
    *p++ = ' ';
    p = tte_fmt_u32(p, TTE_INPUT_BYTES);
    *p++ = ' ';
    p = tte_fmt_u32(p, TTE_OUTPUT_BYTES);
    *p++ = ' ';
    p = tte_fmt_u32(p, TTE_TRAINABLE_BYTES);
    *p++ = ' ';
    p = tte_fmt_u32(p, TTE_ARENA_BYTES);
    put_line(line, p);
}

static void report_end(void)
{
    char line[48];
    char *p = line;
    *p++ = 'A';
    *p++ = ' ';
    p = tte_fmt_u32(p, correct);
    *p++ = ' ';
    p = tte_fmt_u32(p, scored);
    put_line(line, p);
    p = line;
    *p++ = 'K';
    *p++ = ' ';
    p = tte_fmt_u32(p, tte_fw_stack_peak_bytes());
    *p++ = ' ';
    p = tte_fmt_u32(p, tte_fw_stack_size_bytes());
    put_line(line, p);
    tte_io_puts("Z\n");
}

int main(void)
{
    char line[48];
    char *p;

    tte_io_init();
    tte_init();
    tte_region_begin();
    tte_region_end();

    report_sizes();
    tte_io_flush();

    for (;;) {
        uint8_t op;
        uint32_t length;
        int32_t label;
        if (!read_header(&op, &length, &label)) {
            break;
        }
        if (op == 'Q') {
            expect_length(length, 0u);
            break;
        }
        switch (op) {
        case 'T': {
#if defined(TTE_INFERENCE_ONLY)
            /* compiled without a training step (scheme none): refused, never skipped */
            (void)label;
            fail("inference-only-model: no training step");
            break;
#else
            expect_length(length, TRAIN_PAYLOAD_BYTES);
            const tte_input_t *in = read_input();
#if defined(TTE_REGRESSION) && TTE_REGRESSION
            if (!tte_io_read(target_buf, TTE_TARGET_BYTES)) {
                fail("truncated-target");
            }
            (void)label;
            tte_region_begin();
            float loss = tte_train_step_regression(in, target_buf);
#else
            tte_region_begin();
            float loss = tte_train_step(in, label);
#endif
            tte_region_end();
            union {
                float f;
                uint32_t u;
            } bits = {loss};
            p = line;
            *p++ = 'L';
            *p++ = ' ';
            p = tte_fmt_hex32(p, bits.u);
            put_line(line, p);
            break;
#endif
        }
        case 'E':
        case 'I': {
            expect_length(length, TTE_INPUT_BYTES);
            const tte_input_t *in = read_input();
            tte_region_begin();
            tte_infer(in, output_buf);
            tte_region_end();
            if (op == 'E') {
                uint32_t pred = argmax(output_buf, TTE_OUTPUT_BYTES / sizeof(tte_output_t));
                scored++;
                correct += (int32_t)pred == label ? 1u : 0u;
                p = line;
                *p++ = 'P';
                *p++ = ' ';
                p = tte_fmt_u32(p, pred);
                tte_io_write(line, (uint32_t)(p - line));
                tte_io_write(" ", 1u);
            }
            put_hex_bytes('O', (const uint8_t *)output_buf, TTE_OUTPUT_BYTES);
            break;
        }
        case 'R':
            expect_length(length, 0u);
            report_sizes();
            break;
        case 'C':
            expect_length(length, 0u);
#if defined(TTE_INFERENCE_ONLY)
            fail("inference-only-model: no trained weights");
#else
            p = line;
            *p++ = 'C';
            *p++ = ' ';
            p = tte_fmt_hex32(p, tte_trainable_crc32());
            put_line(line, p);
#endif
            break;
#if defined(TTE_CHECKPOINT_BYTES)
        case 'D':
            expect_length(length, 0u);
            tte_checkpoint_print(tte_io_write);
            break;
#endif
#if defined(TTE_FW_WEIGHTS_IO)
        case 'G':
            expect_length(length, 0u);
            put_weights();
            break;
        case 'S':
            expect_length(length, TTE_TRAINABLE_BYTES);
            read_weights();
            skip_padding(TTE_TRAINABLE_BYTES);
            tte_io_puts("S\n");
            break;
#endif
        default:
            fail("unknown-command");
        }
        tte_io_flush(); /* one reply per command: a host driving a session waits for it */
    }
    report_end();
    return 0;
}
