"""The OECD DAC CRS purpose codes (5 digits) the reconstruction plan uses, with their names:
the families 11000 education, 12000 health, 14000 water and sanitation, 15000 government and
civil society (15250 mine action), 16000 other social infrastructure (housing), 21000
transport, 23000 energy, 31000 agriculture and fishing, 43000 multisector (urban
development), 72000 emergency response, 73000 reconstruction relief. A programme's sector is
one of these codes; extend the list when the plan needs another."""

from __future__ import annotations

DAC_PURPOSES: dict[str, str] = {
    "11110": "Education policy and administrative management",
    "11120": "Education facilities and training",
    "11220": "Primary education",
    "11320": "Secondary education",
    "12110": "Health policy and administrative management",
    "12191": "Medical services",
    "12220": "Basic health care",
    "12230": "Basic health infrastructure",
    "12240": "Basic nutrition",
    "12250": "Infectious disease control",
    "14010": "Water sector policy and administrative management",
    "14021": "Water supply - large systems",
    "14022": "Sanitation - large systems",
    "14030": "Basic drinking water supply and basic sanitation",
    "14050": "Waste management/disposal",
    "15110": "Public sector policy and administrative management",
    "15130": "Legal and judicial development",
    "15210": "Security system management and reform",
    "15220": "Civilian peace-building, conflict prevention and resolution",
    "15240": "Reintegration and SALW control",
    "15250": "Removal of land mines and explosive remnants of war",
    "16010": "Social protection",
    "16020": "Employment creation",
    "16030": "Housing policy and administrative management",
    "16040": "Low-cost housing",
    "16050": "Multisector aid for basic social services",
    "16061": "Culture and recreation",
    "21010": "Transport policy and administrative management",
    "21020": "Road transport",
    "21040": "Water transport",
    "21050": "Air transport",
    "23110": "Energy policy and administrative management",
    "23210": "Energy generation, renewable sources - multiple technologies",
    "23230": "Solar energy for centralised grids",
    "23630": "Electric power transmission and distribution (centralised grids)",
    "31110": "Agricultural policy and administrative management",
    "31120": "Agricultural development",
    "31140": "Agricultural water resources",
    "31161": "Food crop production",
    "31310": "Fishing policy and administrative management",
    "31320": "Fishery development",
    "43010": "Multisector aid",
    "43030": "Urban development and management",
    "43040": "Rural development",
    "43060": "Disaster risk reduction",
    "72010": "Material relief assistance and services",
    "72040": "Emergency food assistance",
    "72050": "Relief co-ordination and support services",
    "73010": "Immediate post-emergency reconstruction and rehabilitation",
}


def is_dac_code(code: str) -> bool:
    return code in DAC_PURPOSES


def dac_name(code: str | None) -> str:
    return DAC_PURPOSES.get(code or "", "")
