<?xml version="1.0" encoding="UTF-8"?>
<!-- UWS 1.1 documents of innerspace (the job list, a job) as HTML pages in a browser, styled
     by the portal's CSS. Clients parse the same documents and never see this: the documents
     only name it in an xml-stylesheet processing instruction. XSLT 1.0, as browsers run. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0"
    xmlns:xlink="http://www.w3.org/1999/xlink"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:is="urn:innerspace:uws-jobinfo"
    exclude-result-prefixes="uws xlink xsi is">

  <xsl:output method="html" encoding="UTF-8" indent="no"
              doctype-system="about:legacy-compat"/>

  <xsl:template name="page">
    <xsl:param name="title"/>
    <xsl:param name="body"/>
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="color-scheme" content="light dark"/>
        <title><xsl:value-of select="$title"/></title>
        <link rel="stylesheet" href="/portal/static/portal.css"/>
      </head>
      <body>
        <a class="skip-link" href="#main">Skip to content</a>
        <header class="site-header">
          <div class="brand"><a href="/portal">innerspace</a></div>
          <nav aria-label="Main">
            <ul>
              <li><a href="/portal/apps">Apps</a></li>
              <li><a href="/portal/jobs">Jobs</a></li>
            </ul>
          </nav>
        </header>
        <main id="main" tabindex="-1">
          <xsl:copy-of select="$body"/>
        </main>
        <footer class="site-footer">
          <p>This is a UWS 1.1 document, shown in a browser; clients read the same XML.</p>
        </footer>
      </body>
    </html>
  </xsl:template>

  <xsl:template name="when">
    <xsl:param name="value"/>
    <xsl:choose>
      <xsl:when test="string($value) != ''">
        <time datetime="{$value}"><xsl:value-of select="translate($value, 'T', ' ')"/></time>
      </xsl:when>
      <xsl:otherwise>-</xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="/uws:jobs">
    <xsl:call-template name="page">
      <xsl:with-param name="title">UWS jobs</xsl:with-param>
      <xsl:with-param name="body">
        <h1>Jobs <small>UWS job list</small></h1>
        <p class="meta"><xsl:value-of select="count(uws:jobref)"/> jobs.
          <a href="/portal/jobs">The jobs page</a> filters and pages them.</p>
        <table class="data">
          <caption>Jobs, newest first</caption>
          <thead>
            <tr><th scope="col">Job</th><th scope="col">Run id</th><th scope="col">Phase</th>
                <th scope="col">Owner</th><th scope="col">Created</th></tr>
          </thead>
          <tbody>
            <xsl:for-each select="uws:jobref">
              <tr>
                <td><a href="{@xlink:href}"><xsl:value-of select="@id"/></a></td>
                <td><xsl:value-of select="uws:runId"/></td>
                <td><span class="phase"><xsl:value-of select="uws:phase"/></span></td>
                <td>
                  <xsl:choose>
                    <xsl:when test="uws:ownerId/@xsi:nil = 'true'">anonymous</xsl:when>
                    <xsl:otherwise><xsl:value-of select="uws:ownerId"/></xsl:otherwise>
                  </xsl:choose>
                </td>
                <td><xsl:call-template name="when">
                  <xsl:with-param name="value" select="uws:creationTime"/>
                </xsl:call-template></td>
              </tr>
            </xsl:for-each>
          </tbody>
        </table>
      </xsl:with-param>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="/uws:job">
    <xsl:call-template name="page">
      <xsl:with-param name="title">UWS job <xsl:value-of select="uws:jobId"/></xsl:with-param>
      <xsl:with-param name="body">
        <p class="breadcrumb"><a href="../jobs">UWS jobs</a></p>
        <h1>Job <xsl:value-of select="uws:jobId"/>
          <xsl:text> </xsl:text><small><xsl:value-of select="uws:jobInfo/is:app"/>
            <xsl:text> </xsl:text><xsl:value-of select="uws:jobInfo/is:appVersion"/></small></h1>
        <p><a href="/portal/jobs/{uws:jobId}">This job's page in the portal</a> follows it live.</p>
        <dl class="facts">
          <dt>Phase</dt><dd><span class="phase"><xsl:value-of select="uws:phase"/></span></dd>
          <xsl:if test="uws:runId"><dt>Run id</dt><dd><xsl:value-of select="uws:runId"/></dd></xsl:if>
          <dt>Owner</dt><dd>
            <xsl:choose>
              <xsl:when test="uws:ownerId/@xsi:nil = 'true' or string(uws:ownerId) = ''">anonymous</xsl:when>
              <xsl:otherwise><xsl:value-of select="uws:ownerId"/></xsl:otherwise>
            </xsl:choose></dd>
          <xsl:if test="uws:jobInfo/is:progress"><dt>Progress</dt><dd><xsl:value-of select="uws:jobInfo/is:progress"/></dd></xsl:if>
          <xsl:if test="uws:jobInfo/is:message"><dt>Message</dt><dd><xsl:value-of select="uws:jobInfo/is:message"/></dd></xsl:if>
          <dt>Created</dt><dd><xsl:call-template name="when"><xsl:with-param name="value" select="uws:creationTime"/></xsl:call-template></dd>
          <dt>Quote</dt><dd><xsl:call-template name="when"><xsl:with-param name="value" select="uws:quote"/></xsl:call-template></dd>
          <dt>Started</dt><dd><xsl:call-template name="when"><xsl:with-param name="value" select="uws:startTime"/></xsl:call-template></dd>
          <dt>Ended</dt><dd><xsl:call-template name="when"><xsl:with-param name="value" select="uws:endTime"/></xsl:call-template></dd>
          <dt>Execution duration</dt><dd><xsl:value-of select="uws:executionDuration"/> s</dd>
          <dt>Destruction</dt><dd><xsl:call-template name="when"><xsl:with-param name="value" select="uws:destruction"/></xsl:call-template></dd>
        </dl>
        <xsl:if test="uws:errorSummary">
          <h2>Error</h2>
          <p class="error-message"><xsl:value-of select="uws:errorSummary/uws:message"/></p>
        </xsl:if>
        <h2>Parameters</h2>
        <xsl:choose>
          <xsl:when test="uws:parameters/uws:parameter">
            <table class="data">
              <caption>Parameters</caption>
              <thead><tr><th scope="col">Name</th><th scope="col">Value</th></tr></thead>
              <tbody>
                <xsl:for-each select="uws:parameters/uws:parameter">
                  <tr><td><xsl:value-of select="@id"/></td>
                      <td><xsl:value-of select="."/></td></tr>
                </xsl:for-each>
              </tbody>
            </table>
          </xsl:when>
          <xsl:otherwise><p>None.</p></xsl:otherwise>
        </xsl:choose>
        <h2>Results</h2>
        <xsl:choose>
          <xsl:when test="uws:results/uws:result">
            <ul>
              <xsl:for-each select="uws:results/uws:result">
                <li><a href="{@xlink:href}"><xsl:value-of select="@id"/></a>
                  <xsl:if test="@size"> <span class="meta"> (<xsl:value-of select="@size"/> bytes)</span></xsl:if></li>
              </xsl:for-each>
            </ul>
          </xsl:when>
          <xsl:otherwise><p>None yet.</p></xsl:otherwise>
        </xsl:choose>
      </xsl:with-param>
    </xsl:call-template>
  </xsl:template>
</xsl:stylesheet>
