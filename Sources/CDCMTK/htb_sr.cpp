// htb_sr.cpp: TID 1500 Measurement Reports through DCMTK's dcmsr and its cmr templates.
// The content tree is built by TID1500_MeasurementReport (with TID 1001, 1411, 1419, 1501),
// which checks each row against the template; DSRDocument makes the SR document and writes it.

#include "internal.h"

#include "dcmtk/dcmsr/codes/dcm.h"
#include "dcmtk/dcmsr/cmr/cid5000.h"
#include "dcmtk/dcmsr/cmr/cid7021.h"
#include "dcmtk/dcmsr/cmr/tid1500.h"
#include "dcmtk/dcmsr/dsrdoc.h"

#include <array>
#include <memory>

struct htb_sr {
    TID1500_MeasurementReport report{CMR_CID7021::ImagingMeasurementReport};
    DSRDocument document;
    /** Kind of the group measurements go to: 0 none yet, 1 volumetric (TID 1411), 2 individual (TID 1501). */
    int group = 0;
    /** Whether the report's initial, empty groups of each kind have been used. */
    bool usedVolumetric = false, usedIndividual = false;
    /** Applied to the document when it is written (setting its tree starts a new document). */
    std::vector<std::array<std::string, 4>> evidence;
    std::vector<std::array<std::string, 3>> codingSchemes;
};

namespace {

using htb::writeError;

DSRCodedEntryValue coded(const htb_code *c) { return DSRCodedEntryValue(c->value, c->scheme, c->meaning); }

std::string text(const char *s) { return s == nullptr ? std::string() : std::string(s); }

// Turns a failed condition into an error message naming the step; true when it failed.
bool failed(const OFCondition &c, const char *what, char *err, size_t errlen) {
    if (c.good()) return false;
    writeError(err, errlen, std::string(what) + ": " + c.text());
    return true;
}

// What TID 1411 and TID 1501 groups share: tracking identifier and UID, finding, finding site.
template <typename Group>
bool describeGroup(Group &g, const char *tracking_id, const char *tracking_uid, const htb_code *finding,
                   const htb_code *finding_site, char *err, size_t errlen) {
    if (failed(g.setTrackingIdentifier(text(tracking_id)), "tracking identifier", err, errlen)) return false;
    if (tracking_uid != nullptr &&
        failed(g.setTrackingUniqueIdentifier(tracking_uid), "tracking unique identifier", err, errlen))
        return false;
    if (failed(g.setFinding(coded(finding)), "finding", err, errlen)) return false;
    return finding_site == nullptr || !failed(g.addFindingSite(coded(finding_site)), "finding site", err, errlen);
}

// A numeric measurement with its UCUM unit, in either kind of group.
template <typename Group>
bool addMeasurement(Group &g, const htb_code *concept_name, const char *value, const htb_code *unit, char *err,
                    size_t errlen) {
    const CID7469_GenericIntensityAndSizeMeasurements name(coded(concept_name));
    const CID7181_AbstractMultiDimensionalImageModelComponentUnits units(coded(unit));
    return !failed(g.addMeasurement(name, typename Group::MeasurementValue(value, units)), "measurement", err, errlen);
}

// A coded or text qualitative evaluation, in a group or the report.
template <typename Target>
OFCondition addEvaluation(Target &t, const DSRCodedEntryValue &name, const htb_code *coded_value,
                          const char *text_value) {
    return coded_value ? t.addQualitativeEvaluation(name, coded(coded_value))
                       : t.addQualitativeEvaluation(name, text(text_value));
}

}  // namespace

extern "C" {

htb_sr *htb_sr_create(const htb_code *procedure, const char *device_uid, const char *device_name,
                      const char *manufacturer, const char *model, char *err, size_t errlen) {
    htb::setupToolkit();
    std::unique_ptr<htb_sr> sr(new htb_sr());
    if (failed(sr->report.setLanguage(CID5000_Languages::English), "language (TID 1204)", err, errlen)) return nullptr;
    if (failed(sr->report.getObservationContext().addDeviceObserver(device_uid, text(device_name), text(manufacturer),
                                                                   text(model)),
               "device observer (TID 1001)", err, errlen))
        return nullptr;
    if (failed(sr->report.addProcedureReported(CID100_QuantitativeDiagnosticImagingProcedures(coded(procedure))),
               "procedure reported (TID 1500 row 4)", err, errlen))
        return nullptr;
    return sr.release();
}

void htb_sr_free(htb_sr *sr) { delete sr; }

int htb_sr_begin_group(htb_sr *sr, const char *tracking_id, const char *tracking_uid, const htb_code *finding,
                       const htb_code *finding_site, const char *seg_instance_uid, int segment_number,
                       const char *source_series_uid, char *err, size_t errlen) {
    // The report starts with one empty group of each kind: fill that first, then add new ones.
    if (seg_instance_uid == nullptr) {
        if (sr->usedIndividual && failed(sr->report.addIndividualMeasurements(OFFalse), "new measurement group", err, errlen))
            return -1;
        sr->usedIndividual = true;
        sr->group = 2;
        return describeGroup(sr->report.getIndividualMeasurements(), tracking_id, tracking_uid, finding, finding_site,
                             err, errlen)
                   ? 0
                   : -1;
    }
    if (sr->usedVolumetric && failed(sr->report.addVolumetricROIMeasurements(OFFalse), "new volumetric group", err, errlen))
        return -1;
    sr->usedVolumetric = true;
    sr->group = 1;
    TID1500_MeasurementReport::TID1411_Measurements &g = sr->report.getVolumetricROIMeasurements();
    if (!describeGroup(g, tracking_id, tracking_uid, finding, finding_site, err, errlen)) return -1;
    DSRImageReferenceValue segment(UID_SegmentationStorage, seg_instance_uid);
    segment.getSegmentList().addItem(static_cast<Uint16>(segment_number));
    if (failed(g.setReferencedSegment(segment), "referenced segment", err, errlen)) return -1;
    return failed(g.setSourceSeriesForSegmentation(text(source_series_uid)), "source series for segmentation", err,
                  errlen)
               ? -1
               : 0;
}

int htb_sr_add_measurement(htb_sr *sr, const htb_code *concept_name, const char *value, const htb_code *unit,
                           const char *algorithm_name, const char *algorithm_version, char *err, size_t errlen) {
    if (sr->group == 1) {
        TID1500_MeasurementReport::TID1411_Measurements &g = sr->report.getVolumetricROIMeasurements();
        if (!addMeasurement(g, concept_name, value, unit, err, errlen)) return -1;
        return algorithm_name != nullptr &&
                       failed(g.getMeasurement().setAlgorithmIdentification(algorithm_name, text(algorithm_version)),
                              "algorithm identification", err, errlen)
                   ? -1
                   : 0;
    }
    if (sr->group == 2)
        return addMeasurement(sr->report.getIndividualMeasurements(), concept_name, value, unit, err, errlen) ? 0 : -1;
    writeError(err, errlen, "measurement outside a group: call htb_sr_begin_group first");
    return -1;
}

int htb_sr_add_evaluation(htb_sr *sr, int in_group, const htb_code *concept_name, const htb_code *coded_value,
                          const char *text_value, char *err, size_t errlen) {
    const DSRCodedEntryValue name = coded(concept_name);
    OFCondition c;
    if (!in_group)
        c = addEvaluation(sr->report, name, coded_value, text_value);
    else if (sr->group == 1)
        c = addEvaluation(sr->report.getVolumetricROIMeasurements(), name, coded_value, text_value);
    else if (sr->group == 2)
        c = addEvaluation(sr->report.getIndividualMeasurements(), name, coded_value, text_value);
    else {
        writeError(err, errlen, "group evaluation outside a group: call htb_sr_begin_group first");
        return -1;
    }
    return failed(c, "qualitative evaluation", err, errlen) ? -1 : 0;
}

int htb_sr_add_coding_scheme(htb_sr *sr, const char *designator, const char *name, const char *organization,
                             char *err, size_t errlen) {
    if (designator == nullptr || designator[0] == '\0') {
        writeError(err, errlen, "coding scheme designator empty");
        return -1;
    }
    sr->codingSchemes.push_back({designator, text(name), text(organization)});
    return 0;
}

int htb_sr_add_evidence(htb_sr *sr, const char *study_uid, const char *series_uid, const char *sop_class_uid,
                        const char *sop_instance_uid, char *err, size_t errlen) {
    if (!study_uid || !series_uid || !sop_class_uid || !sop_instance_uid) {
        writeError(err, errlen, "evidence needs study, series, SOP class and SOP instance UIDs");
        return -1;
    }
    sr->evidence.push_back({study_uid, series_uid, sop_class_uid, sop_instance_uid});
    return 0;
}

int htb_sr_write(htb_sr *sr, const htb_sr_header *h, htb_dcm_file *dst, char *err, size_t errlen) {
    if (!sr->report.isValid()) {
        writeError(err, errlen, "the measurement report is not valid TID 1500 (an observer and measurements or evaluations are required)");
        return -1;
    }
    DSRDocument &doc = sr->document;
    if (failed(doc.setTreeFromRootTemplate(sr->report, OFTrue /*expandTree*/), "SR document tree", err, errlen))
        return -1;
    if (failed(doc.setSpecificCharacterSetType(DSRTypes::CS_UTF8), "specific character set", err, errlen)) return -1;
    if (failed(doc.createNewSeriesInStudy(text(h->study_uid)), "study instance UID", err, errlen)) return -1;
    struct Setter {
        const char *value;
        OFCondition (DSRDocument::*set)(const OFString &, const OFBool);
        const char *what;
    };
    const Setter setters[] = {
        {h->patient_name, &DSRDocument::setPatientName, "patient's name"},
        {h->patient_id, &DSRDocument::setPatientID, "patient ID"},
        {h->patient_birth_date, &DSRDocument::setPatientBirthDate, "patient's birth date"},
        {h->patient_sex, &DSRDocument::setPatientSex, "patient's sex"},
        {h->study_date, &DSRDocument::setStudyDate, "study date"},
        {h->study_time, &DSRDocument::setStudyTime, "study time"},
        {h->study_id, &DSRDocument::setStudyID, "study ID"},
        {h->accession_number, &DSRDocument::setAccessionNumber, "accession number"},
        {h->referring_physician, &DSRDocument::setReferringPhysicianName, "referring physician's name"},
        {h->study_description, &DSRDocument::setStudyDescription, "study description"},
        {h->series_number, &DSRDocument::setSeriesNumber, "series number"},
        {h->series_description, &DSRDocument::setSeriesDescription, "series description"},
        {h->manufacturer, &DSRDocument::setManufacturer, "manufacturer"},
        {h->model_name, &DSRDocument::setManufacturerModelName, "manufacturer's model name"},
        {h->software_versions, &DSRDocument::setSoftwareVersions, "software versions"},
        {h->device_serial_number, &DSRDocument::setDeviceSerialNumber, "device serial number"},
        {h->content_date, &DSRDocument::setContentDate, "content date"},
        {h->content_time, &DSRDocument::setContentTime, "content time"},
    };
    for (const Setter &s : setters) {
        if (s.value == nullptr || s.value[0] == '\0') continue;
        // Values copied from a source are set unchecked when they do not conform (an odd date in
        // the source must not stop the report); htb's own values always conform.
        OFCondition c = (doc.*(s.set))(s.value, OFTrue);
        if (c.bad()) c = (doc.*(s.set))(s.value, OFFalse);
        if (failed(c, s.what, err, errlen)) return -1;
    }
    if (failed(doc.setInstanceNumber("1"), "instance number", err, errlen)) return -1;
    for (const auto &e : sr->evidence) {
        if (failed(doc.getCurrentRequestedProcedureEvidence().addItem(e[0], e[1], e[2], e[3]),
                   "current requested procedure evidence", err, errlen))
            return -1;
    }
    for (const auto &c : sr->codingSchemes) {
        if (failed(doc.getCodingSchemeIdentification().addItem(c[0], "", c[1], c[2]), "coding scheme identification",
                   err, errlen))
            return -1;
    }
    if (failed(doc.completeDocument(), "completion flag", err, errlen)) return -1;
    DcmDataset *dataset = dst->format.getDataset();
    dataset->clear();
    if (failed(doc.write(*dataset), "writing the SR document", err, errlen)) return -1;
    // Series and SOP Instance UIDs: the caller's, so that it knows them before writing.
    if (h->series_uid != nullptr && h->series_uid[0] != '\0' &&
        failed(dataset->putAndInsertString(DCM_SeriesInstanceUID, h->series_uid), "series instance UID", err, errlen))
        return -1;
    if (h->sop_instance_uid != nullptr && h->sop_instance_uid[0] != '\0' &&
        failed(dataset->putAndInsertString(DCM_SOPInstanceUID, h->sop_instance_uid), "SOP instance UID", err, errlen))
        return -1;
    return 0;
}

}  // extern "C"
