"""The names a reader sees for the values of the customers module's vocabularies (industry,
operating status, source, gender), as English msgids translated when shown.

The vocabularies themselves are declared in ``models``; the pages and the exports both name
values through these maps, so a list and its export say the same thing.
"""

from __future__ import annotations

from loopcrm.platform.i18n import N_

INDUSTRY_NAMES = {
    "agriculture": N_("Agriculture, forestry, livestock and fishery"),
    "mining": N_("Mining"),
    "manufacturing": N_("Manufacturing"),
    "utilities": N_("Electricity, heat, gas and water"),
    "construction": N_("Construction"),
    "wholesale_retail": N_("Wholesale and retail"),
    "transport_logistics": N_("Transport, storage and post"),
    "hospitality": N_("Accommodation and catering"),
    "information_technology": N_("Information transmission, software and IT services"),
    "finance": N_("Finance"),
    "real_estate": N_("Real estate"),
    "business_services": N_("Leasing and business services"),
    "research_technology": N_("Scientific research and technical services"),
    "environment_facilities": N_("Water, environment and public facilities"),
    "resident_services": N_("Resident, repair and other services"),
    "education": N_("Education"),
    "health_social_work": N_("Health and social work"),
    "culture_sports_media": N_("Culture, sports and entertainment"),
    "public_administration": N_("Public administration and social organisations"),
    "international_organisations": N_("International organisations"),
}

OPERATING_STATUS_NAMES = {
    "active": N_("Operating"),
    "dormant": N_("Dormant"),
    "deregistered": N_("Deregistered"),
}

SOURCE_NAMES = {
    "website": N_("Website"),
    "referral": N_("Referral"),
    "event": N_("Event"),
    "cold_outreach": N_("Cold outreach"),
    "advertising": N_("Advertising"),
    "partner": N_("Partner"),
    "social_media": N_("Social media"),
    "e_commerce": N_("E-commerce"),
    "import": N_("Import"),
    "cdp": N_("CDP"),
    "other": N_("Other"),
}

GENDER_NAMES = {
    "female": N_("Female"),
    "male": N_("Male"),
    "other": N_("Other gender"),
    "unknown": N_("Not stated"),
}
