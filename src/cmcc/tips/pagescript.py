"""The inline style and script of the public tip page (nothing is loaded from anywhere else).

The script converts a click on the map to lon/lat, then does the proof of work: it fetches a
challenge, finds the counter with SHA-256 (crypto.subtle where the browser offers it, which is
only over HTTPS or on localhost; otherwise a small SHA-256 written here), fills the hidden fields
and submits the form. Without the script the page explains that it is needed.
"""

from __future__ import annotations


def _round_constants() -> list[int]:
    """SHA-256's K: the first 32 bits of the fractional parts of the cube roots of the first
    64 primes (exact integer arithmetic)."""
    primes: list[int] = []
    n = 2
    while len(primes) < 64:
        if all(n % p for p in primes):
            primes.append(n)
        n += 1
    out = []
    for p in primes:
        target = p << 96
        root = round(target ** (1 / 3))
        while root**3 > target:
            root -= 1
        while (root + 1) ** 3 <= target:
            root += 1
        out.append(root & 0xFFFFFFFF)
    return out


K = ",".join(str(k) for k in _round_constants())

STYLE = """
body{font-family:system-ui,"Noto Naskh Arabic","Segoe UI",Tahoma,sans-serif;margin:0;
background:#f5f4ef;color:#1d1d1b;line-height:1.5}
main{max-width:40rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0}
.en{display:block;color:#55554f;font-size:.85em}
label{display:block;font-weight:600;margin-top:1rem}
textarea,input[type=text]{width:100%;box-sizing:border-box;font:inherit;padding:.5rem;
border:1px solid #888;border-radius:.3rem;background:#fff}
textarea{min-height:7rem}
svg{width:100%;max-height:60vh;background:#dfeef6;border:1px solid #888;border-radius:.3rem;
cursor:crosshair;touch-action:manipulation}
.strip{fill:#f3ead3;stroke:#6b5a2e;stroke-width:1.2}
.gov{fill:none;stroke:#b9a66f;stroke-width:.6;stroke-dasharray:3 2}
.name{font-size:9px;fill:#6b5a2e;text-anchor:middle}
.sea{font-size:10px;fill:#4d7890;text-anchor:middle}
.pin{fill:#c0392b;stroke:#fff;stroke-width:1.5}
button{font:inherit;font-weight:600;margin-top:1.2rem;padding:.7rem 1.4rem;border:0;
border-radius:.3rem;background:#1f5f4a;color:#fff;cursor:pointer}
button[disabled]{background:#888}
button .en{color:#e6f2ec}
button.secondary{background:#fff;color:#1f5f4a;border:1px solid #1f5f4a;font-weight:400;
margin-top:.3rem;padding:.3rem .8rem;font-size:.85rem}
button.secondary .en{color:#3d4f47}
.file{position:absolute;width:1px;height:1px;opacity:0;overflow:hidden}
label.pick{display:inline-block;margin-top:.5rem;padding:.5rem 1rem;border:1px solid #1f5f4a;
border-radius:.3rem;background:#fff;color:#1f5f4a;cursor:pointer}
label.pick .en{color:#3d4f47}
.file:focus-visible+label.pick{outline:3px solid #f5b700;outline-offset:2px}
.credit{color:#55554f;margin:.2rem 0}
.small{font-size:.85rem}
.note{background:#fff;border-inline-start:4px solid #1f5f4a;padding:.6rem .8rem;margin:1rem 0}
.code{font:700 1.6rem/1.4 ui-monospace,Menlo,Consolas,monospace;direction:ltr;
unicode-bidi:isolate;letter-spacing:.05em;background:#fff;padding:.6rem;display:inline-block}
.error{border-inline-start-color:#c0392b}
.said{white-space:pre-wrap;background:#fff;padding:.6rem}
"""

SCRIPT = (
    """
(function(){
"use strict";
var K=[%K%];
function sha256(m0){
 var H=[1779033703,-1150833019,1013904242,-1521486534,1359893119,-1694144372,528734635,
  1541459225];
 var l=m0.length,n=((l+9+63)>>6)<<6,m=new Uint8Array(n),w=new Int32Array(64),o,i;
 m.set(m0);m[l]=128;var b=l*8;m[n-4]=b>>>24;m[n-3]=(b>>>16)&255;m[n-2]=(b>>>8)&255;m[n-1]=b&255;
 for(o=0;o<n;o+=64){
  for(i=0;i<16;i++)w[i]=(m[o+4*i]<<24)|(m[o+4*i+1]<<16)|(m[o+4*i+2]<<8)|m[o+4*i+3];
  for(i=16;i<64;i++){var x=w[i-15],y=w[i-2];
   w[i]=(w[i-16]+(((x>>>7)|(x<<25))^((x>>>18)|(x<<14))^(x>>>3))+w[i-7]+
    (((y>>>17)|(y<<15))^((y>>>19)|(y<<13))^(y>>>10)))|0;}
  var A=H[0],B=H[1],C=H[2],D=H[3],E=H[4],F=H[5],G=H[6],J=H[7];
  for(i=0;i<64;i++){
   var t1=(J+(((E>>>6)|(E<<26))^((E>>>11)|(E<<21))^((E>>>25)|(E<<7)))+((E&F)^(~E&G))+K[i]+w[i])|0;
   var t2=((((A>>>2)|(A<<30))^((A>>>13)|(A<<19))^((A>>>22)|(A<<10)))+((A&B)^(A&C)^(B&C)))|0;
   J=G;G=F;F=E;E=(D+t1)|0;D=C;C=B;B=A;A=(t1+t2)|0;}
  H[0]=(H[0]+A)|0;H[1]=(H[1]+B)|0;H[2]=(H[2]+C)|0;H[3]=(H[3]+D)|0;
  H[4]=(H[4]+E)|0;H[5]=(H[5]+F)|0;H[6]=(H[6]+G)|0;H[7]=(H[7]+J)|0;}
 var out=new Uint8Array(32);
 for(i=0;i<8;i++){out[4*i]=H[i]>>>24;out[4*i+1]=(H[i]>>>16)&255;out[4*i+2]=(H[i]>>>8)&255;
  out[4*i+3]=H[i]&255;}
 return out;}
function zeros(d){var z=0;for(var i=0;i<d.length;i++){if(d[i]===0){z+=8;continue;}
 var v=d[i];while(!(v&128)){z++;v<<=1;}break;}return z;}
var enc=new TextEncoder();
async function solve(token,bits){
 var subtle=window.crypto&&window.crypto.subtle,c=0,B=256;
 if(!subtle){for(;;c++){if(zeros(sha256(enc.encode(token+c)))>=bits)return String(c);}}
 for(;;c+=B){var jobs=[];
  for(var i=0;i<B;i++)jobs.push(subtle.digest("SHA-256",enc.encode(token+(c+i))));
  var ds=await Promise.all(jobs);
  for(i=0;i<B;i++){if(zeros(new Uint8Array(ds[i]))>=bits)return String(c+i);}}}
window.cmccSolve=solve;window.cmccSha256=sha256;
var forms=document.querySelectorAll("form[data-pow]");
if(!forms.length)return;
document.getElementById("needs-js").hidden=true;
var tip=forms[0],svg=document.getElementById("map");
if(svg){var pin=document.getElementById("pin"),shown=document.getElementById("where");
 var S=parseFloat(svg.dataset.scale),kx=parseFloat(svg.dataset.kx),
  lon0=parseFloat(svg.dataset.minlon),lat1=parseFloat(svg.dataset.maxlat);
 svg.addEventListener("click",function(ev){var p=svg.createSVGPoint();p.x=ev.clientX;
  p.y=ev.clientY;p=p.matrixTransform(svg.getScreenCTM().inverse());
  var lon=lon0+p.x/(S*kx),lat=lat1-p.y/S;
  pin.setAttribute("cx",p.x.toFixed(1));pin.setAttribute("cy",p.y.toFixed(1));
  pin.removeAttribute("visibility");
  tip.elements.lon.value=lon.toFixed(5);tip.elements.lat.value=lat.toFixed(5);
  shown.textContent=lat.toFixed(5)+", "+lon.toFixed(5);});
 document.getElementById("clear").addEventListener("click",function(){
  pin.setAttribute("visibility","hidden");tip.elements.lon.value="";
  tip.elements.lat.value="";shown.textContent="";});}
var photo=document.getElementById("photo");
if(photo){photo.addEventListener("change",function(){
 var f=photo.files&&photo.files[0],chosen=document.getElementById("photo-chosen");
 chosen.textContent=f?f.name:"";chosen.hidden=!f;
 document.getElementById("photo-none").hidden=!!f;});}
forms.forEach(function(form){var busy=false;
 form.addEventListener("submit",async function(ev){ev.preventDefault();if(busy)return;busy=true;
  var btn=form.querySelector("button[type=submit]"),msg=form.querySelector(".working");
  btn.disabled=true;msg.hidden=false;
  try{var r=await fetch("/public/tips/challenge",{cache:"no-store",credentials:"omit",
    referrerPolicy:"no-referrer"});var ch=await r.json();
   form.elements.challenge.value=ch.challenge;
   form.elements.counter.value=await solve(ch.challenge,ch.bits);
   form.submit();}
  catch(e){btn.disabled=false;busy=false;msg.hidden=true;
   form.querySelector(".failed").hidden=false;}});});
})();
"""
).replace("%K%", K)
