// libpng's simplified API (png_image_*), which reports errors in the image struct instead of
// longjmp-ing across Swift frames. Debian: libpng-dev (1.6). PNG_IMAGE_VERSION and the format
// macros do not import into Swift, hence these wrappers.
#include <png.h>
#include <string.h>

/* Encodes 8-bit RGB rows into a PNG in memory. Call with memory NULL to get the size in *size,
   then again with a buffer of that size. Returns 1 on success, 0 with a message in err. */
static inline int htb_png_encode_rgb(unsigned int width, unsigned int height, const unsigned char *rgb,
                                     void *memory, size_t *size, char *err, size_t errlen) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    image.format = PNG_FORMAT_RGB;
    image.flags = PNG_IMAGE_FLAG_FAST; /* faster filtering and compression; still lossless */
    png_alloc_size_t bytes = memory ? *size : 0;
    int ok = png_image_write_to_memory(&image, memory, &bytes, 0, rgb, 0, NULL);
    if (!ok && err && errlen) { strncpy(err, image.message, errlen - 1); err[errlen - 1] = 0; }
    *size = bytes;
    png_image_free(&image);
    return ok;
}

/* Decodes a PNG file to 8-bit RGB. First call with rgb NULL fills width and height; second call
   with a buffer of width*height*3 bytes decodes. Returns 1 on success, 0 with a message in err. */
static inline int htb_png_decode_rgb(const char *path, unsigned int *width, unsigned int *height,
                                     unsigned char *rgb, char *err, size_t errlen) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path)) {
        if (err && errlen) { strncpy(err, image.message, errlen - 1); err[errlen - 1] = 0; }
        return 0;
    }
    *width = image.width;
    *height = image.height;
    if (!rgb) { png_image_free(&image); return 1; }
    image.format = PNG_FORMAT_RGB;
    int ok = png_image_finish_read(&image, NULL, rgb, 0, NULL);
    if (!ok && err && errlen) { strncpy(err, image.message, errlen - 1); err[errlen - 1] = 0; }
    png_image_free(&image);
    return ok;
}
