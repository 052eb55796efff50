'use strict';
// Publisher page: the fake camera and microphone, one sendonly RTCPeerConnection per id.
//   await pub.start({width, height, fps, audio})   getUserMedia; returns the video track settings
//   await pub.offer(id, {codec, degradation})      a new pc with both tracks; returns the offer SDP
//   await pub.answer(id, sdp)                      applies the answer
//   await pub.restartIce(id)                       a new offer with iceRestart; returns its SDP
//   pub.candidate / pub.stats / pub.close          as in common.js
(function () {
  const P = window.onairPeers;
  let stream = null;

  async function start({ width = 1280, height = 720, fps = 30, audio = true } = {}) {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { exact: width }, height: { exact: height }, frameRate: { ideal: fps } },
      audio,
    });
    const v = document.getElementById('local');
    v.srcObject = stream;
    const vt = stream.getVideoTracks()[0];
    return { video: vt && vt.getSettings(), audio: stream.getAudioTracks().length };
  }

  // codec: 'VP8' | 'H264' | ... moved to the front of the video codec list (setCodecPreferences);
  // degradation: the video sender's degradationPreference (default maintain-resolution, so the
  // stream starts and stays at the camera's size instead of ramping up from 320x180).
  async function offer(id, { codec = '', degradation = 'maintain-resolution' } = {}) {
    if (!stream) throw new Error('start() first');
    const p = P.newPeer(id);
    for (const t of stream.getTracks()) {
      const tr = p.pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] });
      if (t.kind !== 'video') continue;
      if (codec) {
        const caps = RTCRtpSender.getCapabilities('video').codecs;
        const want = caps.filter((c) => c.mimeType.toUpperCase() === 'VIDEO/' + codec.toUpperCase());
        if (!want.length) throw new Error(`no ${codec} in this browser`);
        // Keep the repair codecs (rtx, red, ulpfec) after the preferred one.
        const rest = caps.filter((c) => !want.includes(c) && /rtx|red|ulpfec|flexfec/i.test(c.mimeType));
        tr.setCodecPreferences(want.concat(rest));
      }
      if (degradation) {
        const prm = tr.sender.getParameters();
        prm.degradationPreference = degradation;
        await tr.sender.setParameters(prm);
      }
    }
    const o = await p.pc.createOffer();
    await p.pc.setLocalDescription(o);
    return o.sdp;
  }

  async function answer(id, sdp) {
    await P.setRemote(P.get(id), { type: 'answer', sdp });
  }

  async function restartIce(id) {
    const p = P.get(id);
    const o = await p.pc.createOffer({ iceRestart: true });
    await p.pc.setLocalDescription(o);
    return o.sdp;
  }

  window.pub = {
    start, offer, answer, restartIce,
    candidate: P.addCandidate, stats: P.stats, close: P.close,
    ready: true,
  };
})();
