-- Orthanc: send every CT series to the htb node once it is stable (no new instance for
-- "StableAge" seconds), as one C-STORE association through Orthanc's REST API (Lua's
-- SendToModality takes single instances). htb's results come back as SEG, SR and OT series of the
-- same study and are not sent on (not CT), so nothing loops. NodeTests.orthancRoutes runs this file.
function OnStableSeries(seriesId, tags, metadata)
  if tags['Modality'] == 'CT' then
    RestApiPost('/modalities/htb/store', seriesId)
  end
end
