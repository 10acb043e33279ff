// htb_dcmtk.cpp: implementation of the C API in htb_dcmtk.h over DCMTK 3.6.x.
// Everything that touches DCMTK types stays in this file.

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/oflog/oflog.h"

#include <openjpeg.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "internal.h"
#include "dcmtk/dcmsr/cmr/init.h"

namespace {
std::once_flag setupOnce;
}

namespace htb {

// DCMTK logs to stderr by default; htb's output must be its own. The decoders register into a
// global codec list that is not safe to change while other threads decode, and dcmsr's context
// groups initialise lazily (not thread-safe): both once, first.
void setupToolkit() {
    std::call_once(setupOnce, [] {
        OFLog::configure(OFLogger::OFF_LOG_LEVEL);
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
        DcmRLEDecoderRegistration::registerCodecs();
        CMR_ContentMappingResource::initializeAllContextGroups();
    });
}

void writeError(char *err, size_t errlen, const std::string &message) {
    if (err == nullptr || errlen == 0) return;
    size_t n = message.size() < errlen - 1 ? message.size() : errlen - 1;
    std::memcpy(err, message.data(), n);
    err[n] = '\0';
}

}  // namespace htb

using htb::setupToolkit;
using htb::writeError;

namespace {

long copyOut(const OFString &value, char *buf, size_t buflen) {
    if (buf != nullptr && buflen > 0) {
        size_t n = value.length() < buflen - 1 ? value.length() : buflen - 1;
        std::memcpy(buf, value.c_str(), n);
        buf[n] = '\0';
    }
    return static_cast<long>(value.length());
}

// Reads the first bytes and decides whether DCMTK should even try: a Part 10 file has "DICM" at
// byte 128; a bare data set (no meta header, PS3.10 7.1 not followed) starts with a low group
// number, little or big endian. Anything else is not DICOM; parsing it would produce garbage.
htb_dcm_status sniff(const char *path, std::string &why) {
    FILE *fp = std::fopen(path, "rb");
    if (fp == nullptr) {
        why = std::string("cannot open: ") + std::strerror(errno);
        return HTB_DCM_IO;
    }
    unsigned char head[132];
    size_t n = std::fread(head, 1, sizeof head, fp);
    std::fclose(fp);
    if (n == 132 && std::memcmp(head + 128, "DICM", 4) == 0) return HTB_DCM_OK;
    if (n >= 8) {
        unsigned le = head[0] | (head[1] << 8);
        unsigned be = (head[0] << 8) | head[1];
        if (le <= 0x0008 || be == 0x0008) return HTB_DCM_OK;
    }
    why = "not a DICOM file: no 'DICM' prefix at byte 128 and no data set start (group 0000-0008)";
    return HTB_DCM_NOT_DICOM;
}

// Walks path to the item that holds the last step's attribute. Returns nullptr when absent.
DcmItem *itemFor(const htb_dcm_file *file, const htb_dcm_step *path, size_t depth) {
    if (depth == 0) return nullptr;
    DcmFileFormat &format = const_cast<DcmFileFormat &>(file->format);
    DcmItem *item = (path[0].group == 0x0002 && depth == 1)
                        ? static_cast<DcmItem *>(format.getMetaInfo())
                        : static_cast<DcmItem *>(format.getDataset());
    for (size_t i = 0; i + 1 < depth; ++i) {
        DcmItem *next = nullptr;
        DcmTagKey key(path[i].group, path[i].element);
        if (item->findAndGetSequenceItem(key, next, path[i].item).bad() || next == nullptr) return nullptr;
        item = next;
    }
    return item;
}

// ---- JPEG 2000 (PS3.5 A.4.4), which DCMTK's free edition cannot decode: OpenJPEG from memory.

struct MemoryStream {
    const Uint8 *data;
    size_t size;
    size_t pos;
};

OPJ_SIZE_T streamRead(void *buffer, OPJ_SIZE_T n, void *user) {
    MemoryStream *m = static_cast<MemoryStream *>(user);
    if (m->pos >= m->size) return static_cast<OPJ_SIZE_T>(-1);
    size_t k = n < m->size - m->pos ? n : m->size - m->pos;
    std::memcpy(buffer, m->data + m->pos, k);
    m->pos += k;
    return k;
}
OPJ_OFF_T streamSkip(OPJ_OFF_T n, void *user) {
    MemoryStream *m = static_cast<MemoryStream *>(user);
    if (n < 0 && static_cast<size_t>(-n) > m->pos) n = -static_cast<OPJ_OFF_T>(m->pos);
    if (n > 0 && m->pos + n > m->size) n = static_cast<OPJ_OFF_T>(m->size - m->pos);
    m->pos += n;
    return n;
}
OPJ_BOOL streamSeek(OPJ_OFF_T n, void *user) {
    MemoryStream *m = static_cast<MemoryStream *>(user);
    if (n < 0 || static_cast<size_t>(n) > m->size) return OPJ_FALSE;
    m->pos = static_cast<size_t>(n);
    return OPJ_TRUE;
}
void quietMessage(const char *, void *) {}
void keepError(const char *msg, void *client) {
    std::string *s = static_cast<std::string *>(client);
    if (s->empty()) *s = msg;
    while (!s->empty() && (s->back() == '\n' || s->back() == ' ')) s->pop_back();
}

// Decodes one JPEG 2000 frame (a raw codestream, or a JP2 file some writers embed) into
// little-endian cells of bitsAllocated bits appended to out.
bool decodeJ2KFrame(const std::vector<Uint8> &code, int bitsAllocated, size_t expectedPixels,
                    std::vector<Uint8> &out, std::string &why) {
    bool jp2 = code.size() >= 12 && code[4] == 'j' && code[5] == 'P' && code[6] == ' ';
    opj_codec_t *codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    if (codec == nullptr) { why = "OpenJPEG could not create a decoder"; return false; }
    std::string error;
    opj_set_info_handler(codec, quietMessage, nullptr);
    opj_set_warning_handler(codec, quietMessage, nullptr);
    opj_set_error_handler(codec, keepError, &error);
    opj_dparameters_t params;
    opj_set_default_decoder_parameters(&params);
    MemoryStream mem{code.data(), code.size(), 0};
    opj_stream_t *stream = opj_stream_create(1 << 16, OPJ_TRUE);
    opj_stream_set_user_data(stream, &mem, nullptr);
    opj_stream_set_user_data_length(stream, code.size());
    opj_stream_set_read_function(stream, streamRead);
    opj_stream_set_skip_function(stream, streamSkip);
    opj_stream_set_seek_function(stream, streamSeek);
    opj_image_t *image = nullptr;
    bool ok = opj_setup_decoder(codec, &params) && opj_read_header(stream, codec, &image);
    // The header claims the image's size: refuse one that is not the frame's before OpenJPEG
    // allocates for it (a damaged codestream may claim gigapixels).
    if (ok && (image == nullptr || image->numcomps != 1 ||
               static_cast<size_t>(image->x1 - image->x0) * static_cast<size_t>(image->y1 - image->y0) != expectedPixels)) {
        error = image == nullptr ? "no image header"
                                 : "codestream claims " + std::to_string(image->x1 - image->x0) + "x" +
                                       std::to_string(image->y1 - image->y0) + " pixels in " +
                                       std::to_string(image->numcomps) + " components, expected " +
                                       std::to_string(expectedPixels) + " pixels in 1";
        ok = false;
    }
    ok = ok && opj_decode(codec, stream, image) && opj_end_decompress(codec, stream);
    if (ok && (image->numcomps != 1 || image->comps[0].data == nullptr)) {
        error = "expected one greyscale component, found " + std::to_string(image->numcomps);
        ok = false;
    }
    if (ok) {
        const opj_image_comp_t &c = image->comps[0];
        size_t n = static_cast<size_t>(c.w) * c.h;
        if (n != expectedPixels) {
            error = "frame is " + std::to_string(c.w) + "x" + std::to_string(c.h) + ", expected " + std::to_string(expectedPixels) + " pixels";
            ok = false;
        } else {
            int bytes = bitsAllocated / 8;
            size_t base = out.size();
            out.resize(base + n * bytes);
            for (size_t i = 0; i < n; ++i) {
                Uint32 v = static_cast<Uint32>(c.data[i]);
                for (int b = 0; b < bytes; ++b) out[base + i * bytes + b] = static_cast<Uint8>(v >> (8 * b));
            }
        }
    }
    if (!ok) why = error.empty() ? "OpenJPEG failed to decode the codestream" : "OpenJPEG: " + error;
    if (image) opj_image_destroy(image);
    opj_stream_destroy(stream);
    opj_destroy_codec(codec);
    return ok;
}

// Splits the encapsulated Pixel Data into frames (one fragment per frame, or all fragments of a
// single frame) and decodes each.
// The fragments and the image layout of a JPEG 2000 data set; false with a message in err.
struct J2KImage {
    DcmPixelSequence *seq = nullptr;
    Uint16 bitsAllocated = 16, rows = 0, columns = 0;
    Sint32 frames = 1;
};
bool j2kImage(htb_dcm_file *file, DcmElement *pixels, J2KImage &out, char *err, size_t errlen) {
    DcmDataset *dataset = file->format.getDataset();
    DcmPixelData *pd = OFstatic_cast(DcmPixelData *, pixels);
    if (pd->getEncapsulatedRepresentation(dataset->getOriginalXfer(), nullptr, out.seq).bad() || out.seq == nullptr) {
        writeError(err, errlen, "JPEG 2000 pixel data is not encapsulated");
        return false;
    }
    dataset->findAndGetUint16(DCM_BitsAllocated, out.bitsAllocated);
    dataset->findAndGetUint16(DCM_Rows, out.rows);
    dataset->findAndGetUint16(DCM_Columns, out.columns);
    dataset->findAndGetSint32(DCM_NumberOfFrames, out.frames);
    if (out.frames < 1) out.frames = 1;
    if (out.bitsAllocated != 8 && out.bitsAllocated != 16) {
        writeError(err, errlen, "JPEG 2000 with Bits Allocated " + std::to_string(out.bitsAllocated) + " is not supported (8 or 16)");
        return false;
    }
    return true;
}

long long decodeJ2K(htb_dcm_file *file, DcmElement *pixels, char *err, size_t errlen) {
    J2KImage image;
    if (!j2kImage(file, pixels, image, err, errlen)) return -1;
    DcmPixelSequence *seq = image.seq;
    const Uint16 bitsAllocated = image.bitsAllocated, rows = image.rows, columns = image.columns;
    const Sint32 frames = image.frames;
    unsigned long fragments = seq->card();  // item 0 is the Basic Offset Table
    if (fragments < 2) { writeError(err, errlen, "JPEG 2000 pixel data holds no fragment"); return -1; }
    unsigned long perFrame = (static_cast<unsigned long>(frames) == fragments - 1) ? 1 : 0;
    if (perFrame == 0 && frames != 1) {
        writeError(err, errlen, "JPEG 2000 with " + std::to_string(frames) + " frames in " + std::to_string(fragments - 1) +
                                    " fragments is not supported (one fragment per frame, or one frame)");
        return -1;
    }
    file->decoded.clear();
    std::vector<Uint8> code;
    for (unsigned long f = 1; f < fragments; ++f) {
        DcmPixelItem *item = nullptr;
        Uint8 *bytes = nullptr;
        if (seq->getItem(item, f).bad() || item == nullptr || item->getUint8Array(bytes).bad()) {
            writeError(err, errlen, "cannot read JPEG 2000 fragment " + std::to_string(f));
            return -1;
        }
        if (bytes) code.insert(code.end(), bytes, bytes + item->getLength());
        if (perFrame || f + 1 == fragments) {
            std::string why;
            if (!decodeJ2KFrame(code, bitsAllocated, static_cast<size_t>(rows) * columns, file->decoded, why)) {
                writeError(err, errlen, "cannot decode JPEG 2000 frame: " + why);
                return -1;
            }
            code.clear();
        }
    }
    file->ownPixels = true;
    file->pixelsDecoded = true;
    return static_cast<long long>(file->decoded.size());
}

// One frame of a multi-frame JPEG 2000 image: its own fragment (one fragment per frame is
// required; other layouts are refused with a message).
long long decodeJ2KFrameOf(htb_dcm_file *file, DcmElement *pixels, long frame, char *err, size_t errlen) {
    J2KImage image;
    if (!j2kImage(file, pixels, image, err, errlen)) return -1;
    DcmPixelSequence *seq = image.seq;
    const Uint16 bitsAllocated = image.bitsAllocated, rows = image.rows, columns = image.columns;
    const Sint32 frames = image.frames;
    if (static_cast<unsigned long>(frames) + 1 != seq->card()) {
        writeError(err, errlen, "JPEG 2000 with " + std::to_string(frames) + " frames in " + std::to_string(seq->card() - 1) +
                                    " fragments is not supported (one fragment per frame)");
        return -1;
    }
    DcmPixelItem *item = nullptr;
    Uint8 *bytes = nullptr;
    if (seq->getItem(item, static_cast<unsigned long>(frame) + 1).bad() || item == nullptr || item->getUint8Array(bytes).bad()) {
        writeError(err, errlen, "cannot read JPEG 2000 fragment " + std::to_string(frame + 1));
        return -1;
    }
    std::vector<Uint8> code;
    if (bytes) code.assign(bytes, bytes + item->getLength());
    file->decoded.clear();
    std::string why;
    if (!decodeJ2KFrame(code, bitsAllocated, static_cast<size_t>(rows) * columns, file->decoded, why)) {
        writeError(err, errlen, "cannot decode JPEG 2000 frame " + std::to_string(frame + 1) + ": " + why);
        return -1;
    }
    file->ownPixels = true;
    file->pixelsDecoded = true;
    return static_cast<long long>(file->decoded.size());
}

}  // namespace

extern "C" {

htb_dcm_file *htb_dcm_open(const char *path, int stop_before_pixels, htb_dcm_status *status,
                           char *err, size_t errlen) {
    setupToolkit();
    std::string why;
    htb_dcm_status sniffed = sniff(path, why);
    if (sniffed != HTB_DCM_OK) {
        if (status) *status = sniffed;
        writeError(err, errlen, why);
        return nullptr;
    }
    htb_dcm_file *file = new htb_dcm_file();
    OFCondition cond = stop_before_pixels
        ? file->format.loadFileUntilTag(path, EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                        ERM_autoDetect, DCM_PixelData)
        : file->format.loadFile(path, EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect);
    if (cond.bad()) {
        if (status) *status = HTB_DCM_CORRUPT;
        writeError(err, errlen, std::string("cannot parse DICOM: ") + cond.text());
        delete file;
        return nullptr;
    }
    if (status) *status = HTB_DCM_OK;
    return file;
}

void htb_dcm_close(htb_dcm_file *file) { delete file; }

void htb_dcm_preload(void) {
    setupToolkit();
    // Touching the global dictionary loads it (under its own lock).
    const DcmDataDictionary &dict = dcmDataDict.rdlock();
    (void)dict.isDictionaryLoaded();
    dcmDataDict.rdunlock();
}

long htb_dcm_string(const htb_dcm_file *file, const htb_dcm_step *path, size_t depth, char *buf,
                    size_t buflen) {
    DcmItem *item = itemFor(file, path, depth);
    if (item == nullptr) return -1;
    const htb_dcm_step &last = path[depth - 1];
    DcmElement *element = nullptr;
    if (item->findAndGetElement(DcmTagKey(last.group, last.element), element).bad() || element == nullptr)
        return -1;
    OFString value;
    if (element->getLength() == 0) return copyOut(value, buf, buflen);
    if (element->getOFStringArray(value).bad()) return -1;
    return copyOut(value, buf, buflen);
}

long htb_dcm_item_count(const htb_dcm_file *file, const htb_dcm_step *path, size_t depth) {
    DcmItem *item = itemFor(file, path, depth);
    if (item == nullptr) return -1;
    const htb_dcm_step &last = path[depth - 1];
    DcmSequenceOfItems *sequence = nullptr;
    if (item->findAndGetSequence(DcmTagKey(last.group, last.element), sequence).bad() || sequence == nullptr)
        return -1;
    return static_cast<long>(sequence->card());
}

long htb_dcm_transfer_syntax(const htb_dcm_file *file, char *buf, size_t buflen) {
    DcmFileFormat &format = const_cast<DcmFileFormat &>(file->format);
    DcmXfer xfer(format.getDataset()->getOriginalXfer());
    return copyOut(OFString(xfer.getXferID()), buf, buflen);
}

long long htb_dcm_decode_pixels(htb_dcm_file *file, char *err, size_t errlen) {
    DcmDataset *dataset = file->format.getDataset();
    DcmElement *pixels = nullptr;
    if (dataset->findAndGetElement(DCM_PixelData, pixels).bad() || pixels == nullptr) {
        writeError(err, errlen, "no (7FE0,0010) Pixel Data in the data set");
        return -1;
    }
    DcmXfer original(dataset->getOriginalXfer());
    if (original.getXfer() == EXS_JPEG2000LosslessOnly || original.getXfer() == EXS_JPEG2000) {
        return decodeJ2K(file, pixels, err, errlen);
    }
    if (original.isEncapsulated()) {
        OFCondition cond = dataset->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
        if (cond.bad() || !dataset->canWriteXfer(EXS_LittleEndianExplicit)) {
            writeError(err, errlen, std::string("cannot decode pixel data encoded as ") + original.getXferName() +
                                        " (" + original.getXferID() + ")" +
                                        (cond.bad() ? std::string(": ") + cond.text() : std::string()));
            return -1;
        }
        if (dataset->findAndGetElement(DCM_PixelData, pixels).bad() || pixels == nullptr) {
            writeError(err, errlen, "pixel data vanished while decoding");
            return -1;
        }
    }
    Uint8 *bytes = nullptr;
    OFCondition cond = pixels->getUint8Array(bytes);
    if (cond.bad() || bytes == nullptr) {
        writeError(err, errlen, std::string("cannot read pixel data: ") + (cond.bad() ? cond.text() : "empty value"));
        return -1;
    }
    file->pixelsDecoded = true;
    return static_cast<long long>(pixels->getLength());
}

long long htb_dcm_decode_frame(htb_dcm_file *file, long frame, char *err, size_t errlen) {
    DcmDataset *dataset = file->format.getDataset();
    DcmElement *pixels = nullptr;
    if (dataset->findAndGetElement(DCM_PixelData, pixels).bad() || pixels == nullptr ||
        pixels->ident() != EVR_PixelData) {
        writeError(err, errlen, "no (7FE0,0010) Pixel Data in the data set");
        return -1;
    }
    Sint32 frames = 1;
    dataset->findAndGetSint32(DCM_NumberOfFrames, frames);
    if (frame < 0 || frame >= frames) {
        writeError(err, errlen, "frame " + std::to_string(frame + 1) + " of " + std::to_string(frames));
        return -1;
    }
    DcmXfer original(dataset->getOriginalXfer());
    if (original.getXfer() == EXS_JPEG2000LosslessOnly || original.getXfer() == EXS_JPEG2000) {
        return decodeJ2KFrameOf(file, pixels, frame, err, errlen);
    }
    Uint32 size = 0;
    OFCondition cond = pixels->getUncompressedFrameSize(dataset, size);
    if (cond.bad() || size == 0) {
        writeError(err, errlen, std::string("cannot size a frame: ") + (cond.bad() ? cond.text() : "empty"));
        return -1;
    }
    // DCMTK wants room for the pad byte of an odd-sized frame.
    file->decoded.assign(size + (size & 1), 0);
    Uint32 startFragment = 0;
    OFString colorModel;
    cond = pixels->getUncompressedFrame(dataset, static_cast<Uint32>(frame), startFragment, file->decoded.data(),
                                        static_cast<Uint32>(file->decoded.size()), colorModel, &file->cache);
    if (cond.bad()) {
        writeError(err, errlen, std::string("cannot decode frame ") + std::to_string(frame + 1) + " (" +
                                    original.getXferName() + "): " + cond.text());
        return -1;
    }
    file->decoded.resize(size);
    file->ownPixels = true;
    file->pixelsDecoded = true;
    return static_cast<long long>(size);
}

long long htb_dcm_copy_pixels(const htb_dcm_file *file, void *dst, size_t len) {
    if (!file->pixelsDecoded) return 0;
    if (file->ownPixels) {
        size_t n = len < file->decoded.size() ? len : file->decoded.size();
        std::memcpy(dst, file->decoded.data(), n);
        return static_cast<long long>(n);
    }
    DcmFileFormat &format = const_cast<DcmFileFormat &>(file->format);
    DcmElement *pixels = nullptr;
    if (format.getDataset()->findAndGetElement(DCM_PixelData, pixels).bad() || pixels == nullptr) return 0;
    Uint8 *bytes = nullptr;
    if (pixels->getUint8Array(bytes).bad() || bytes == nullptr) return 0;
    size_t available = pixels->getLength();
    size_t n = len < available ? len : available;
    std::memcpy(dst, bytes, n);
    return static_cast<long long>(n);
}

htb_dcm_file *htb_dcm_create(void) {
    setupToolkit();
    return new htb_dcm_file();
}

int htb_dcm_put_string(htb_dcm_file *file, const htb_dcm_step *path, size_t depth, const char *value,
                       char *err, size_t errlen) {
    if (depth == 0) { writeError(err, errlen, "empty attribute path"); return -1; }
    DcmItem *item = (path[0].group == 0x0002 && depth == 1) ? static_cast<DcmItem *>(file->format.getMetaInfo())
                                                            : static_cast<DcmItem *>(file->format.getDataset());
    for (size_t i = 0; i + 1 < depth; ++i) {
        DcmItem *next = nullptr;
        OFCondition c = item->findOrCreateSequenceItem(DcmTagKey(path[i].group, path[i].element), next, path[i].item);
        if (c.bad() || next == nullptr) { writeError(err, errlen, std::string("cannot create sequence item: ") + c.text()); return -1; }
        item = next;
    }
    const htb_dcm_step &last = path[depth - 1];
    OFCondition c = item->putAndInsertString(DcmTagKey(last.group, last.element), value);
    if (c.bad()) { writeError(err, errlen, std::string("cannot set attribute: ") + c.text()); return -1; }
    return 0;
}

int htb_dcm_remove(htb_dcm_file *file, const htb_dcm_step *path, size_t depth) {
    DcmItem *item = itemFor(file, path, depth);
    if (item == nullptr) return -1;
    const htb_dcm_step &last = path[depth - 1];
    return item->findAndDeleteElement(DcmTagKey(last.group, last.element)).good() ? 0 : -1;
}

int htb_dcm_put_pixels(htb_dcm_file *file, const void *data, size_t len, int bits_allocated, char *err, size_t errlen) {
    DcmDataset *dataset = file->format.getDataset();
    OFCondition c;
    if (bits_allocated == 16) {
        if (len % 2 != 0) { writeError(err, errlen, "16-bit pixel data of odd length"); return -1; }
        c = dataset->putAndInsertUint16Array(DCM_PixelData, static_cast<const Uint16 *>(data), static_cast<unsigned long>(len / 2));
    } else {
        // OB values are padded to even length on write.
        c = dataset->putAndInsertUint8Array(DCM_PixelData, static_cast<const Uint8 *>(data), static_cast<unsigned long>(len));
    }
    if (c.bad()) { writeError(err, errlen, std::string("cannot set pixel data: ") + c.text()); return -1; }
    return 0;
}

int htb_dcm_save(htb_dcm_file *file, const char *path, char *err, size_t errlen) {
    OFCondition c = file->format.saveFile(path, EXS_LittleEndianExplicit, EET_ExplicitLength, EGL_recalcGL,
                                          EPD_noChange, 0, 0, EWM_createNewMeta);
    if (c.bad()) { writeError(err, errlen, std::string("cannot save: ") + c.text()); return -1; }
    return 0;
}

int htb_dcm_convert_to_utf8(htb_dcm_file *file, char *err, size_t errlen) {
    OFCondition c = file->format.convertToUTF8();
    if (c.bad()) { writeError(err, errlen, std::string("cannot convert to UTF-8: ") + c.text()); return -1; }
    return 0;
}

const char *htb_dcm_toolkit_version(void) { return OFFIS_DCMTK_VERSION_STRING; }

}  // extern "C"

extern "C" const char *htb_dcm_uid_name(const char *uid) { return uid == nullptr ? nullptr : dcmFindNameOfUID(uid); }
