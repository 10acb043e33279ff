#!/usr/bin/env python3
"""The DICOM node (`htb serve`) against real peers from Debian, in the same run:

1. Receive throughput: the same files sent by the same sender (DCMTK's storescu) to DCMTK's
   storescp, to htb serve (analysis held back with a long --settle) and to Orthanc (a PACS that
   keeps what it receives), interleaved rounds; the figure to quote is the ratio of medians. htb
   fsyncs every instance and its folder before it answers; storescp does not. Measured with the default network settings and with TCP_NODELAY=1
   (DCMTK's switch for Nagle's algorithm, read by both), which removes the sender's ~40-90 ms
   per-instance wait and so exposes the receivers' own cost. htb serve sets TCP_NODELAY=1 for
   itself unless the environment says otherwise, so the first row compares the programs as shipped.
2. Latency: a 119-slice CT (3D-IRCADb-01 patient 17) sent by storescu to htb serve, which forwards
   SEG, SR and pictures to Orthanc: seconds from the end of the send to the SR in Orthanc, minus
   the settle time.
3. Load with failures: 10 studies (copies of the sample phantom with new UIDs) from 4 concurrent
   senders; the node is killed with SIGKILL twice (during reception, then during an analysis) and
   restarted; senders retry a study whose send failed. Checked: every study sent, one SR and one
   SEG per study in Orthanc, analyses finished per study.

usage: Benchmarks/dicom_node.py [--rounds N] [--htb PATH] [--study DIR] [--write-docs]
"""
import argparse, json, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, threading, time
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait(seconds, condition):
    end = time.time() + seconds
    while time.time() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def echo(port):
    return subprocess.run(["echoscu", "-aet", "SENDER", "-aec", "HTB", "127.0.0.1", str(port)],
                          capture_output=True).returncode == 0


def storescu(port, folder, aec="HTB", env=None):
    t = time.perf_counter()
    rc = subprocess.run(["storescu", "-aet", "SENDER", "-aec", aec, "127.0.0.1", str(port), "+sd", folder],
                        capture_output=True, env=env).returncode
    return time.perf_counter() - t, rc


class Node:
    def __init__(self, htb, folder, port, extra, env=None):
        self.cmd = [htb, "serve", "--spool", os.path.join(folder, "spool"), "--port", str(port), "--loopback",
                    "--log", os.path.join(folder, "node.log")] + extra
        self.port, self.folder, self.env = port, folder, env
        self.start()

    def start(self):
        self.p = subprocess.Popen(self.cmd, stderr=subprocess.DEVNULL, env=self.env)
        if not wait(20, lambda: echo(self.port)):
            sys.exit("htb serve did not answer C-ECHO")

    def kill9(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()

    def stop(self):
        self.p.terminate()
        self.p.wait()

    def events(self, name=None):
        try:
            lines = open(os.path.join(self.folder, "node.log")).read().splitlines()
        except FileNotFoundError:
            return []
        out = [json.loads(l) for l in lines if l.strip()]
        return [e for e in out if name is None or e["event"] == name]

    def records(self):
        r = subprocess.run(self.cmd[:1] + ["serve", "--status", os.path.join(self.folder, "spool"), "--json"],
                           capture_output=True, text=True)
        return {s["study_uid"]: s for s in json.loads(r.stdout)} if r.returncode == 0 else {}


class Orthanc:
    def __init__(self, folder, node_port, env=None, allow_any=False):
        self.http, self.dicom = free_port(), free_port()
        db = os.path.join(folder, "orthanc-db")
        os.makedirs(db)
        config = {"Name": "htb-bench", "StorageDirectory": db, "IndexDirectory": db, "HttpPort": self.http,
                  "DicomPort": self.dicom, "DicomAet": "ORTHANC", "RemoteAccessAllowed": False,
                  "AuthenticationEnabled": False, "DicomAlwaysAllowStore": allow_any,
                  "DicomCheckModalityHost": not allow_any,
                  "DicomModalities": {"htb": ["HTB", "127.0.0.1", node_port]}, "Plugins": []}
        path = os.path.join(folder, "orthanc.json")
        json.dump(config, open(path, "w"))
        self.p = subprocess.Popen(["Orthanc", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        if not wait(30, lambda: self.get("/system") is not None):
            sys.exit("Orthanc did not start")

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http}{path}", timeout=5) as r:
                return json.loads(r.read())
        except Exception:
            return None

    def modalities(self, study_uid):
        """Instances per modality in the study."""
        for s in self.get("/studies?expand") or []:
            if s["MainDicomTags"].get("StudyInstanceUID") == study_uid:
                out = {}
                for sid in s["Series"]:
                    series = self.get(f"/series/{sid}")
                    m = series["MainDicomTags"].get("Modality", "")
                    out[m] = out.get(m, 0) + len(series["Instances"])
                return out
        return {}

    def stop(self):
        req = urllib.request.Request(f"http://127.0.0.1:{self.http}/tools/shutdown", method="POST")
        try:
            urllib.request.urlopen(req, timeout=5)
            self.p.wait(timeout=15)
        except Exception:
            self.p.kill()


def copy_study(source, target, study_uid):
    import pydicom
    os.makedirs(target)
    for i, name in enumerate(sorted(f for f in os.listdir(source) if f.endswith(".dcm"))):
        ds = pydicom.dcmread(os.path.join(source, name))
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = study_uid + ".1"
        ds.SOPInstanceUID = f"{study_uid}.1.{i + 1}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(os.path.join(target, name))


def throughput(a, study, work, env_extra):
    env = dict(os.environ, **env_extra)
    htb_t, scp_t, orthanc_t = [], [], []
    for r in range(a.rounds + 1):
        d = tempfile.mkdtemp(dir=work)
        port = free_port()
        scp = subprocess.Popen(["storescp", "-od", os.path.join(d, "scp"), "-aet", "HTB", str(port)],
                               stderr=subprocess.DEVNULL, env=env)
        os.makedirs(os.path.join(d, "scp"))
        wait(10, lambda: echo(port))
        t_scp, rc1 = storescu(port, study, env=env)
        scp.terminate(); scp.wait()
        node = Node(a.htb, d, free_port(), ["--settle", "3600"], env=env)
        t_htb, rc2 = storescu(node.port, study, env=env)
        node.stop()
        # A PACS that keeps what it receives: Orthanc (files + SQLite index), accepting any sender.
        orthanc = Orthanc(d, 1, env=env, allow_any=True)
        t_orthanc, rc3 = storescu(orthanc.dicom, study, aec="ORTHANC", env=env)
        orthanc.stop()
        if rc3:
            sys.exit(f"storescu to Orthanc failed: {rc3}")
        if rc1 or rc2:
            sys.exit(f"storescu failed: storescp {rc1}, htb {rc2}")
        n = len(node.events("instance_stored"))
        if n != len([f for f in os.listdir(study)]):
            sys.exit(f"htb stored {n} instances")
        if r > 0:  # the first round warms the page cache
            htb_t.append(t_htb); scp_t.append(t_scp); orthanc_t.append(t_orthanc)
        shutil.rmtree(d)
    return statistics.median(htb_t), statistics.median(scp_t), statistics.median(orthanc_t)


def fsync_cost(study, work):
    """What this disk charges for durability alone: the study's files written, then each file and
    its folder fsync'ed (as htb does per instance); seconds of the fsyncs only."""
    d = tempfile.mkdtemp(dir=work)
    total = 0.0
    for name in sorted(os.listdir(study)):
        data = open(os.path.join(study, name), "rb").read()
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(data)
        t = time.perf_counter()
        fd = os.open(path, os.O_RDONLY); os.fsync(fd); os.close(fd)
        fd = os.open(d, os.O_RDONLY); os.fsync(fd); os.close(fd)
        total += time.perf_counter() - t
    shutil.rmtree(d)
    return total


def latency(a, study, work, settle=2.0, runs=3):
    out = []
    for _ in range(runs):
        d = tempfile.mkdtemp(dir=work)
        port = free_port()
        orthanc = Orthanc(d, port)
        node = Node(a.htb, d, port, ["--settle", str(settle), "--forward", f"ORTHANC@127.0.0.1:{orthanc.dicom}"])
        _, rc = storescu(port, study)
        t_sent = time.perf_counter()
        study_uid = node.events("study_received")[0]["study_uid"]
        ok = wait(120, lambda: orthanc.modalities(study_uid).get("SR", 0) == 1)
        t_sr = time.perf_counter()
        node.stop(); orthanc.stop()
        if rc or not ok:
            sys.exit(f"latency run failed (storescu {rc}, SR in Orthanc {ok}); see {d}")
        analysed = node.events("study_analysed")[0]
        out.append((t_sr - t_sent - settle, analysed["seconds"]))
        shutil.rmtree(d)
    return out


def load(a, work, studies=10, senders=4):
    d = tempfile.mkdtemp(dir=work)
    sample = os.path.join(root, "SampleStudies/phantom-htb-low/ct")
    uids = [f"2.25.4242{n:03d}" for n in range(studies)]
    for n, uid in enumerate(uids):
        copy_study(sample, os.path.join(d, f"study{n}"), uid)
    port = free_port()
    orthanc = Orthanc(d, port)
    node = Node(a.htb, d, port, ["--settle", "1", "--jobs", "2", "--forward", f"ORTHANC@127.0.0.1:{orthanc.dicom}"])
    retries = [0]
    lock = threading.Lock()

    def sender(k):
        for n in range(k, studies, senders):
            for attempt in range(20):
                _, rc = storescu(port, os.path.join(d, f"study{n}"))
                if rc == 0:
                    break
                with lock:
                    retries[0] += 1
                time.sleep(1)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=sender, args=(k,)) for k in range(senders)]
    for t in threads:
        t.start()
    wait(60, lambda: len(node.events("instance_stored")) >= 100)
    node.kill9(); node.start()
    wait(120, lambda: len(node.events("analysis_started")) >= 2)
    node.kill9(); node.start()
    for t in threads:
        t.join()
    done = wait(300, lambda: sum(1 for r in node.records().values() if r["state"] == "sent") == studies)
    wall = time.perf_counter() - t0
    records = node.records()
    per_study = {uid: orthanc.modalities(uid) for uid in uids}
    analysed = {uid: sum(1 for e in node.events("study_analysed") if e["study_uid"] == uid) for uid in uids}
    resumed = len(node.events("study_resumed"))
    node.stop(); orthanc.stop()
    result = {
        "studies": studies, "senders": senders, "kills": 2, "sender_retries": retries[0], "all_sent": done,
        "sent": sum(1 for r in records.values() if r["state"] == "sent"),
        "sr_per_study": sorted(set(m.get("SR", 0) for m in per_study.values())),
        "seg_per_study": sorted(set(m.get("SEG", 0) for m in per_study.values())),
        "analyses_finished_per_study": sorted(set(analysed.values())),
        "instances_per_study": sorted(set(r["instances"] for r in records.values())),
        "studies_resumed_after_kills": resumed, "wall_s": round(wall, 1)}
    shutil.rmtree(d)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--htb", default=os.path.join(root, ".build/release/htb"))
    ap.add_argument("--study", default=None, help="a CT series folder (default: IRCADb 17 from ../shared)")
    ap.add_argument("--write-docs", action="store_true")
    a = ap.parse_args()
    for tool in ["storescu", "storescp", "echoscu", "Orthanc"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed: sh scripts/setup --test-peers")
    study = a.study
    if study is None:
        data = subprocess.run(["sh", os.path.join(root, "../shared/data/unpack.sh")], check=True,
                              capture_output=True, text=True).stdout.strip()
        study = os.path.join(data, "3Dircadb1.17/PATIENT_DICOM")
    files = len(os.listdir(study))
    mb = sum(os.path.getsize(os.path.join(study, f)) for f in os.listdir(study)) / 1e6
    work = tempfile.mkdtemp(prefix="htb-node-bench-")
    h_default, s_default, o_default = throughput(a, study, work, {})
    h_nodelay, s_nodelay, o_nodelay = throughput(a, study, work, {"TCP_NODELAY": "1"})
    fsyncs = statistics.median(fsync_cost(study, work) for _ in range(3))
    lat = latency(a, study, work)
    ld = load(a, work)
    shutil.rmtree(work)
    result = {
        "study": study, "files": files, "megabytes": round(mb, 1), "rounds": a.rounds, "cores": os.cpu_count(),
        "receive_default": {"htb_s": round(h_default, 3), "storescp_s": round(s_default, 3),
                            "orthanc_s": round(o_default, 3),
                            "ratio_htb_over_storescp": round(h_default / s_default, 3),
                            "ratio_htb_over_orthanc": round(h_default / o_default, 3)},
        "receive_tcp_nodelay": {"htb_s": round(h_nodelay, 3), "storescp_s": round(s_nodelay, 3),
                                "orthanc_s": round(o_nodelay, 3),
                                "ratio_htb_over_storescp": round(h_nodelay / s_nodelay, 3),
                                "ratio_htb_over_orthanc": round(h_nodelay / o_nodelay, 3)},
        "fsync_alone_s": round(fsyncs, 3),
        "latency_after_settle_s": [round(x[0], 2) for x in lat],
        "analysis_s": [round(x[1], 2) for x in lat],
        "load": ld}
    print(json.dumps(result, indent=2))
    if a.write_docs:
        import docs_section
        rd, rn = result["receive_default"], result["receive_tcp_nodelay"]
        docs_section.write("dicom_node", "\n".join([
            f"Receive: {files} files, {mb:.0f} MB, sent by storescu; median of {a.rounds} interleaved rounds (time to send; lower is faster).",
            "",
            "| network settings | htb serve | storescp (no fsync) | Orthanc | htb / storescp | htb / Orthanc |",
            "|---|---|---|---|---|---|",
            f"| as shipped (htb turns Nagle off itself; storescu, storescp, Orthanc keep it) | {rd['htb_s']:.2f} s | {rd['storescp_s']:.2f} s | {rd['orthanc_s']:.2f} s | **{rd['ratio_htb_over_storescp']:.3f}** | {rd['ratio_htb_over_orthanc']:.3f} |",
            f"| TCP_NODELAY=1 for every program | {rn['htb_s']:.2f} s | {rn['storescp_s']:.2f} s | {rn['orthanc_s']:.2f} s | **{rn['ratio_htb_over_storescp']:.3f}** | {rn['ratio_htb_over_orthanc']:.3f} |",
            "",
            f"Durability alone on this disk: fsync of each of the {files} files and of its folder, {result['fsync_alone_s']:.2f} s "
            "(median of 3); htb pays it per instance before answering, storescp never.",
            "",
            f"Latency, {files}-slice study to SR in Orthanc after the settle time: "
            + ", ".join(f"{x:.2f} s" for x in result["latency_after_settle_s"])
            + " (of which analysis " + ", ".join(f"{x:.2f} s" for x in result["analysis_s"]) + ").",
            "",
            "| load with failures | value |", "|---|---|",
            f"| studies, concurrent senders, SIGKILLs of the node | {ld['studies']}, {ld['senders']}, {ld['kills']} |",
            f"| studies sent / SR per study / SEG per study in Orthanc | {ld['sent']} / {ld['sr_per_study']} / {ld['seg_per_study']} |",
            f"| analyses finished per study | {ld['analyses_finished_per_study']} |",
            f"| instances per study in the spool | {ld['instances_per_study']} |",
            f"| sends retried by the senders, studies resumed after kills | {ld['sender_retries']}, {ld['studies_resumed_after_kills']} |",
            f"| wall time | {ld['wall_s']} s |"]))


if __name__ == "__main__":
    main()
