// internal.h: what the shim's C++ files share (not part of the C API).
#ifndef HTB_DCMTK_INTERNAL_H
#define HTB_DCMTK_INTERNAL_H

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dcfcache.h"

#include <string>
#include <vector>

#include "htb_dcmtk.h"

struct htb_dcm_file {
    DcmFileFormat format;
    bool pixelsDecoded = false;
    // Pixels decoded here rather than by DCMTK (JPEG 2000, through OpenJPEG).
    bool ownPixels = false;
    std::vector<Uint8> decoded;
    // Keeps the file open between frames read one at a time (htb_dcm_decode_frame).
    DcmFileCache cache;
};

namespace htb {
/** Logger off, codecs registered, context groups initialised: once per process, before any use. */
void setupToolkit();
/** Copies message (truncated) into err, NUL-terminated. */
void writeError(char *err, size_t errlen, const std::string &message);
}  // namespace htb

#endif
