'use strict';
// Subscriber page: receive-only RTCPeerConnections, one per id.
//   await sub.answerOffer(id, sdp, config)   applies the (SFU's sendonly) offer; returns the
//                                    answer SDP; config: optional RTCConfiguration additions
//                                    (iceServers, iceTransportPolicy) for the new pc
//   await sub.reoffer(id, sdp)       applies a new offer to an existing pc (ICE restart)
//   sub.candidate / sub.stats / sub.close   as in common.js; stats().firstFrame.at and
//   stats().times.ice_connected are performance.now() values of this page.
(function () {
  const P = window.onairPeers;

  async function answerOffer(id, sdp, config) {
    const p = P.newPeer(id, config);
    p.pc.ontrack = (e) => {
      if (e.track.kind === 'video') P.watchVideo(p, e.track, e.streams[0]);
      else p.times.audio_track = P.now();
    };
    await P.setRemote(p, { type: 'offer', sdp });
    const a = await p.pc.createAnswer();
    await p.pc.setLocalDescription(a);
    return a.sdp;
  }

  async function reoffer(id, sdp) {
    const p = P.get(id);
    await P.setRemote(p, { type: 'offer', sdp });
    const a = await p.pc.createAnswer();
    await p.pc.setLocalDescription(a);
    return a.sdp;
  }

  window.sub = {
    answerOffer, reoffer,
    candidate: P.addCandidate, stats: P.stats, close: P.close,
    ready: true,
  };
})();
