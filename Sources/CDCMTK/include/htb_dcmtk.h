/*
 * htb_dcmtk.h: the C API in front of DCMTK (dcmdata + JPEG, JPEG-LS and RLE codecs).
 *
 * Why a shim: Swift must never see DCMTK's C++ types (OFCondition, DcmItem, ...). This header is
 * plain C: an opaque file handle, an open/close pair, error text written into a caller-supplied
 * buffer, and functions that copy values out. The Swift side (DicomIO) opens a file, copies what
 * it needs into Swift values and closes the handle right away.
 *
 * Thread safety: distinct handles may be used from distinct threads at the same time (DCMTK's
 * data dictionary is shared and locked; codecs are registered once, before the first open).
 * One handle must not be used from two threads at once.
 */
#ifndef HTB_DCMTK_H
#define HTB_DCMTK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An open DICOM file (meta header + data set). */
typedef struct htb_dcm_file htb_dcm_file;

/** Why htb_dcm_open failed. */
typedef enum {
    HTB_DCM_OK = 0,
    /** The file does not start like DICOM (no "DICM" at byte 128, no plausible data set start). */
    HTB_DCM_NOT_DICOM = 1,
    /** The file could not be opened or read (permissions, missing, I/O error). */
    HTB_DCM_IO = 2,
    /** The file starts like DICOM but cannot be parsed (truncated, corrupt encoding). */
    HTB_DCM_CORRUPT = 3
} htb_dcm_status;

/**
 * Opens and parses a DICOM file (Part 10 or a bare data set).
 * stop_before_pixels != 0 parses only up to (7FE0,0010) Pixel Data, for fast header scans.
 * Returns NULL on failure, with *status set and a message in err.
 */
htb_dcm_file *htb_dcm_open(const char *path, int stop_before_pixels, htb_dcm_status *status,
                           char *err, size_t errlen);

/**
 * Registers the codecs, silences the logger and loads DCMTK's data dictionary (a text file on
 * Debian, some 20 ms). Called implicitly by the first open; calling it early on another thread
 * overlaps that cost with other work.
 */
void htb_dcm_preload(void);

/** Closes a handle from htb_dcm_open; NULL is allowed. */
void htb_dcm_close(htb_dcm_file *file);

/** One step of an attribute path: a tag and, for a sequence that is not the last step, an item index. */
typedef struct {
    uint16_t group;
    uint16_t element;
    int32_t item;
} htb_dcm_step;

/**
 * The value of the attribute at path (depth steps; group 0x0002 reads the file meta header),
 * all values joined with a backslash, numbers formatted as text.
 * Returns -1 when the attribute (or a sequence item on the way) is absent, otherwise the value's
 * full length in bytes; at most buflen-1 bytes plus a NUL are written to buf. When the return
 * value is >= buflen, call again with a larger buffer.
 */
long htb_dcm_string(const htb_dcm_file *file, const htb_dcm_step *path, size_t depth,
                    char *buf, size_t buflen);

/** Number of items in the sequence at path, or -1 when absent or not a sequence. */
long htb_dcm_item_count(const htb_dcm_file *file, const htb_dcm_step *path, size_t depth);

/** The transfer syntax UID the data set was encoded in, as read from the file. */
long htb_dcm_transfer_syntax(const htb_dcm_file *file, char *buf, size_t buflen);

/**
 * Decodes (7FE0,0010) Pixel Data to native little-endian, uncompressed form (JPEG baseline,
 * extended and lossless, JPEG-LS and RLE through DCMTK; JPEG 2000 through OpenJPEG; other
 * encapsulated syntaxes fail with a message naming the transfer syntax). Returns the decoded length in bytes, or -1 with a message in err.
 * The decoded bytes stay in the handle until htb_dcm_copy_pixels or htb_dcm_close.
 */
long long htb_dcm_decode_pixels(htb_dcm_file *file, char *err, size_t errlen);

/**
 * Decodes frame `frame` (0-based) of a multi-frame image alone, without loading or decoding the
 * others (DCMTK's getUncompressedFrame; JPEG 2000 through OpenJPEG, one fragment per frame).
 * Returns the frame's decoded length in bytes, or -1 with a message in err; then as
 * htb_dcm_decode_pixels (the bytes stay in the handle for htb_dcm_copy_pixels).
 */
long long htb_dcm_decode_frame(htb_dcm_file *file, long frame, char *err, size_t errlen);

/** Copies up to len decoded bytes (after htb_dcm_decode_pixels) into dst. Returns bytes copied. */
long long htb_dcm_copy_pixels(const htb_dcm_file *file, void *dst, size_t len);

/* ---- Writing: build or edit a data set and save it as a Part 10 file. ---- */

/** A new, empty file (meta header filled in on save). */
htb_dcm_file *htb_dcm_create(void);

/**
 * Sets the attribute at path (sequence items created as needed) from its text form, with the VR
 * of the data dictionary (multiple values separated by backslashes). Returns 0, or -1 with err.
 */
int htb_dcm_put_string(htb_dcm_file *file, const htb_dcm_step *path, size_t depth, const char *value,
                       char *err, size_t errlen);

/** Removes the attribute at path; returns 0 when removed, -1 when absent. */
int htb_dcm_remove(htb_dcm_file *file, const htb_dcm_step *path, size_t depth);

/**
 * Sets (7FE0,0010) Pixel Data from native little-endian bytes: OB for bits_allocated 1 or 8, OW for 16.
 * Returns 0, or -1 with err.
 */
int htb_dcm_put_pixels(htb_dcm_file *file, const void *data, size_t len, int bits_allocated, char *err, size_t errlen);

/**
 * Saves as a Part 10 file in Explicit VR Little Endian, with a meta header made from the data set
 * (Media Storage SOP Class/Instance UID from (0008,0016)/(0008,0018)). Returns 0, or -1 with err.
 */
int htb_dcm_save(htb_dcm_file *file, const char *path, char *err, size_t errlen);

/**
 * Converts every string of the data set to UTF-8 (from its Specific Character Set, (0008,0005)),
 * and sets (0008,0005) to ISO_IR 192. Returns 0, or -1 with err (an unknown or unconvertible
 * character set).
 */
int htb_dcm_convert_to_utf8(htb_dcm_file *file, char *err, size_t errlen);

/* ---- Structured reports: a TID 1500 Measurement Report built with DCMTK's dcmsr/cmr. ---- */

/** A measurement report under construction. */
typedef struct htb_sr htb_sr;

/** A coded concept: code value, coding scheme designator, code meaning (all required). */
typedef struct {
    const char *value;
    const char *scheme;
    const char *meaning;
} htb_code;

/**
 * A new Imaging Measurement Report (CID 7021) in English, observed by a device (TID 1001:
 * device UID, name, manufacturer, model), reporting `procedure` (CID 100, extensible).
 * Returns NULL with err on failure.
 */
htb_sr *htb_sr_create(const htb_code *procedure, const char *device_uid, const char *device_name,
                      const char *manufacturer, const char *model, char *err, size_t errlen);

/** Frees a report from htb_sr_create; NULL is allowed. */
void htb_sr_free(htb_sr *sr);

/**
 * Starts a measurement group; later measurements go into it.
 * With seg_instance_uid non-NULL: a Volumetric ROI group (TID 1411) whose region is segment
 * `segment_number` of that Segmentation, derived from series `source_series_uid`. Otherwise an
 * individual Measurement Group (TID 1501). tracking_uid and finding_site may be NULL.
 */
int htb_sr_begin_group(htb_sr *sr, const char *tracking_id, const char *tracking_uid, const htb_code *finding,
                       const htb_code *finding_site, const char *seg_instance_uid, int segment_number,
                       const char *source_series_uid, char *err, size_t errlen);

/**
 * Adds a numeric measurement (concept from CID 7469, extensible) with its value as a decimal
 * string and its UCUM unit to the current group. algorithm_name/version (may be NULL) name the
 * algorithm that produced the region (TID 1419 rows 10-11, volumetric groups only).
 */
int htb_sr_add_measurement(htb_sr *sr, const htb_code *concept_name, const char *value, const htb_code *unit,
                           const char *algorithm_name, const char *algorithm_version, char *err, size_t errlen);

/**
 * Adds a qualitative evaluation, coded (`coded` non-NULL) or as text: to the current group when
 * in_group != 0, else to the report (TID 1500 row 12-13).
 */
int htb_sr_add_evaluation(htb_sr *sr, int in_group, const htb_code *concept_name, const htb_code *coded,
                          const char *text, char *err, size_t errlen);

/** Declares a private coding scheme (Coding Scheme Identification Sequence). */
int htb_sr_add_coding_scheme(htb_sr *sr, const char *designator, const char *name, const char *organization,
                             char *err, size_t errlen);

/** Adds one instance to the Current Requested Procedure Evidence Sequence. */
int htb_sr_add_evidence(htb_sr *sr, const char *study_uid, const char *series_uid, const char *sop_class_uid,
                        const char *sop_instance_uid, char *err, size_t errlen);

/** The patient, study and series attributes of the document (UTF-8; NULL or "" for empty). */
typedef struct {
    const char *patient_name, *patient_id, *patient_birth_date, *patient_sex;
    const char *study_uid, *study_date, *study_time, *study_id, *accession_number, *referring_physician,
        *study_description;
    const char *series_uid, *series_number, *series_description, *sop_instance_uid;
    const char *manufacturer, *model_name, *software_versions, *device_serial_number;
    const char *content_date, *content_time;
} htb_sr_header;

/**
 * Checks the report, makes it an SR document (Enhanced SR, UTF-8, completion flag COMPLETE,
 * verification UNVERIFIED) with the header's attributes, and writes it into dst's data set
 * (replacing what was there). Save dst with htb_dcm_save. Returns 0, or -1 with err.
 */
int htb_sr_write(htb_sr *sr, const htb_sr_header *header, htb_dcm_file *dst, char *err, size_t errlen);

/* ---- Network: a Storage SCP (DCMTK's DcmSCPPool of DcmThreadSCP workers) and a Storage SCU. ---- */

/** One instance received by the SCP, written and fsync'ed to temp_path (a Part 10 file). */
typedef struct {
    const char *calling_ae;
    const char *peer_host;
    const char *sop_class_uid;
    const char *sop_instance_uid;
    const char *study_uid;
    const char *series_uid;
    const char *modality;
    const char *transfer_syntax;
    /** Empty when the instance was not written (store_error says why). */
    const char *temp_path;
    const char *store_error;
    unsigned long long bytes;
} htb_scp_instance;

/** How an association request is answered (htb_scp_accept_fn's return value). */
typedef enum {
    HTB_SCP_ACCEPT = 0,
    HTB_SCP_REFUSE_CALLING_AE = 1,
    HTB_SCP_REFUSE_CALLED_AE = 2,
    /** Transient: too many associations at once ("local limit exceeded"). */
    HTB_SCP_REFUSE_BUSY = 3
} htb_scp_decision;

/**
 * Called once per association request, on the thread that serves it; busy != 0 when
 * max_associations are already being served. Returns an htb_scp_decision (the callee logs it).
 */
typedef int (*htb_scp_accept_fn)(void *ctx, const char *calling_ae, const char *called_ae, const char *peer_host,
                                 int busy);

/**
 * Called once per C-STORE, on the worker thread that received it, after the instance is on disk
 * (or after storing it failed). Returns the DIMSE status to answer: 0 success, else a failure status
 * (e.g. 0xA700 out of resources, 0xA900 data set does not match SOP class, 0x0122 SOP class
 * not supported). The callee owns temp_path from then on (renames or removes it).
 */
typedef unsigned short (*htb_scp_store_fn)(void *ctx, const htb_scp_instance *instance);

/** Called when an association ends: event is "released", "aborted" or "error" (detail says what). */
typedef void (*htb_scp_end_fn)(void *ctx, const char *calling_ae, const char *peer_host, const char *event,
                               const char *detail, unsigned int instances);

/** The Storage SCP's configuration. */
typedef struct {
    const char *ae_title;
    uint16_t port;
    /** Listen on 127.0.0.1 only (else every interface). */
    int loopback_only;
    /** Concurrent associations served; more are refused (transient, "local limit exceeded"). */
    uint16_t max_associations;
    /** Folder for the temporary files being received (same file system as the spool). */
    const char *temp_dir;
    /** Seconds to wait for the next PDU / DIMSE message before aborting an association. */
    uint32_t timeout_seconds;
    void *ctx;
    htb_scp_accept_fn accept;
    htb_scp_store_fn store;
    htb_scp_end_fn end;
} htb_scp_config;

/**
 * Runs a Storage SCP until htb_scp_stop (or an error). Accepts Verification (C-ECHO) and the CT,
 * Enhanced CT, Legacy Converted Enhanced CT and Segmentation storage classes in the common transfer
 * syntaxes, and every other storage class too so that its instances can be refused with a status
 * and a reason rather than at negotiation. One server per process. Returns 0, or -1 with err
 * (e.g. the port is in use).
 */
int htb_scp_run(const htb_scp_config *config, char *err, size_t errlen);

/** Asks a running htb_scp_run to return once the associations in progress have ended. */
void htb_scp_stop(void);

/**
 * Sends files by C-STORE to ae_title@host:port in one association (called AE ae_title, calling AE
 * calling_ae). statuses (count entries) receive each file's DIMSE status, or 0xFFFF when it was not
 * sent. Returns the number of files stored with success status, or -1 with err when no association
 * could be made.
 */
int htb_scu_store(const char *host, uint16_t port, const char *ae_title, const char *calling_ae,
                  const char *const *paths, size_t count, uint32_t timeout_seconds, uint16_t *statuses,
                  char *err, size_t errlen);

/**
 * Asks the kernel to kill this process when its parent dies (Linux PR_SET_PDEATHSIG), so that an
 * analysis started by `htb serve` never outlives a node killed with SIGKILL. Returns 0, or -1 when the
 * parent is already gone (the caller should exit).
 */
int htb_process_die_with_parent(void);

/** DCMTK's name of a UID (e.g. "MRImageStorage"), or NULL when DCMTK does not know it. */
const char *htb_dcm_uid_name(const char *uid);

/** DCMTK's version string, for reports. */
const char *htb_dcm_toolkit_version(void);

#ifdef __cplusplus
}
#endif

#endif /* HTB_DCMTK_H */
